/* The lobby display board: live state, clock, chime and spoken calls (zh-CN, then English).
 *
 * Browsers refuse audio until someone interacts with the page, so unless autoplay is allowed
 * (kiosk browsers started with --autoplay-policy=no-user-gesture-required) a one-time
 * "click to enable sound" overlay asks for that click.
 */
(function () {
  "use strict";

  var root = document.getElementById("board");
  if (!root || !window.BranchFlowLive) return;
  var stateEl = document.getElementById("board-state");
  var overlay = document.getElementById("sound-overlay");
  var offline = document.getElementById("board-offline");
  var FLASH_MS = 8000;
  var MAX_ANNOUNCE_AT_ONCE = 3;

  var ZH_DIGITS = "零一二三四五六七八九";
  var EN_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"];

  /* ---- clock in the branch's time zone ---- */
  var clock = document.getElementById("board-clock");
  var dateEl = document.getElementById("board-date");
  var timeZone = root.dataset.timeZone || undefined;
  function formatter(opts) {
    try { return new Intl.DateTimeFormat("zh-CN", Object.assign({ timeZone: timeZone }, opts)); }
    catch (e) { return new Intl.DateTimeFormat("zh-CN", opts); } // unknown zone: local time
  }
  var timeFormat = formatter({ hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  var dateFormat = formatter({ year: "numeric", month: "long", day: "numeric", weekday: "long" });
  function tick() {
    var now = new Date();
    clock.textContent = timeFormat.format(now);
    dateEl.textContent = dateFormat.format(now);
  }
  tick();
  setInterval(tick, 1000);

  /* ---- sound ---- */
  var AudioCtx = window.AudioContext || window.webkitAudioContext;
  var audio = null;
  var soundOn = false;

  function ensureAudio() {
    if (!audio && AudioCtx) {
      try { audio = new AudioCtx(); } catch (e) { audio = null; }
    }
    return audio;
  }

  function enableSound() {
    var ctx = ensureAudio();
    if (ctx && ctx.state === "suspended") ctx.resume().catch(function () {});
    if (window.speechSynthesis) {
      // A silent utterance inside the click unlocks speech in browsers that also gate it.
      try {
        var warm = new SpeechSynthesisUtterance(" ");
        warm.volume = 0;
        window.speechSynthesis.speak(warm);
      } catch (e) { /* no speech here: the chime still plays */ }
    }
    soundOn = true;
    overlay.hidden = true;
  }

  function setupOverlay() {
    var ctx = ensureAudio();
    if (ctx && ctx.state === "running") { soundOn = true; return; } // autoplay allowed
    overlay.hidden = false;
    overlay.addEventListener("click", enableSound, { once: true });
    document.addEventListener("keydown", function () { if (!soundOn) enableSound(); }, { once: true });
  }

  /* Two tones, "ding-dong"; resolves when done. */
  function chime() {
    var ctx = ensureAudio();
    if (!ctx || ctx.state !== "running") return Promise.resolve();
    var start = ctx.currentTime + 0.05;
    [[880, 0], [659.25, 0.45]].forEach(function (tone) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = tone[0];
      var t0 = start + tone[1];
      gain.gain.setValueAtTime(0.0001, t0);
      gain.gain.exponentialRampToValueAtTime(0.6, t0 + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.9);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t0);
      osc.stop(t0 + 0.95);
    });
    return new Promise(function (resolve) { setTimeout(resolve, 1400); });
  }

  function voiceFor(lang) {
    if (!window.speechSynthesis) return null;
    var voices = window.speechSynthesis.getVoices() || [];
    var prefix = lang.toLowerCase();
    return voices.find(function (v) { return v.lang && v.lang.toLowerCase().replace("_", "-") === prefix; })
      || voices.find(function (v) { return v.lang && v.lang.toLowerCase().indexOf(prefix.split("-")[0]) === 0; })
      || null;
  }

  function speak(text, lang) {
    if (!window.speechSynthesis || !window.SpeechSynthesisUtterance) return Promise.resolve();
    return new Promise(function (resolve) {
      var done = false;
      function finish() { if (!done) { done = true; resolve(); } }
      try {
        var utterance = new SpeechSynthesisUtterance(text);
        utterance.lang = lang;
        var voice = voiceFor(lang);
        if (voice) utterance.voice = voice;
        utterance.rate = lang.indexOf("zh") === 0 ? 0.9 : 0.95;
        utterance.onend = finish;
        utterance.onerror = finish;
        window.speechSynthesis.speak(utterance);
      } catch (e) { finish(); return; }
      // Some engines never fire onend (no voices installed): do not stall the queue.
      setTimeout(finish, 9000);
    });
  }

  /* "A007" -> zh "A 零零七", en "A, zero, zero, seven": digits one by one, as tellers say them. */
  function spokenCode(code, lang) {
    var letters = code.replace(/[0-9]/g, "");
    var digits = code.replace(/[^0-9]/g, "").split("");
    if (lang === "zh") return letters + " " + digits.map(function (d) { return ZH_DIGITS[+d]; }).join("");
    return letters + ", " + digits.map(function (d) { return EN_DIGITS[+d]; }).join(" ");
  }

  function sentence(template, code, counter) {
    return template.replace("{code}", code).replace("{counter}", counter);
  }

  var queue = Promise.resolve();
  function announce(call) {
    queue = queue.then(function () {
      if (!soundOn) return null;
      return chime()
        .then(function () { return speak(sentence(root.dataset.sayZh, spokenCode(call.code, "zh"), call.counter), "zh-CN"); })
        .then(function () { return speak(sentence(root.dataset.sayEn, spokenCode(call.code, "en"), call.counter), "en-US"); });
    }).catch(function (err) { console.warn("board: announcement failed", err); });
    return queue;
  }

  /* ---- live state ---- */
  function callsIn(el) {
    var calls = [];
    var seen = {};
    el.querySelectorAll("[data-call-key]").forEach(function (node) {
      var key = node.dataset.callKey;
      if (seen[key]) return;
      seen[key] = true;
      calls.push({ key: key, code: node.dataset.code, counter: node.dataset.counter });
    });
    return calls; // newest first
  }

  var known = {};
  callsIn(stateEl).forEach(function (call) { known[call.key] = true; });

  // key -> time the highlight ends; re-applied after every re-render of the state.
  var flashUntil = {};
  function applyFlash() {
    var now = Date.now();
    Object.keys(flashUntil).forEach(function (key) {
      if (flashUntil[key] <= now) { delete flashUntil[key]; return; }
      stateEl.querySelectorAll('[data-call-key="' + key + '"]').forEach(function (node) {
        node.classList.add("is-flashing");
      });
    });
  }
  function flash(keys) {
    var until = Date.now() + FLASH_MS;
    keys.forEach(function (key) { flashUntil[key] = until; });
    applyFlash();
    setTimeout(function () {
      stateEl.querySelectorAll(".is-flashing").forEach(function (node) {
        if (!flashUntil[node.dataset.callKey] || flashUntil[node.dataset.callKey] <= Date.now()) {
          node.classList.remove("is-flashing");
        }
      });
    }, FLASH_MS + 50);
  }

  function onState() {
    applyFlash();
    var fresh = callsIn(stateEl).filter(function (call) { return !known[call.key]; });
    fresh.forEach(function (call) { known[call.key] = true; });
    if (!fresh.length) return;
    flash(fresh.map(function (call) { return call.key; }));
    // Oldest first; after an outage, only the latest few are worth saying aloud.
    fresh.slice(0, MAX_ANNOUNCE_AT_ONCE).reverse().forEach(announce);
  }

  window.BranchFlowLive.follow(root, function (v, event) {
    if (event && typeof event.html === "string") {
      // The stream carried the state (rendered once per version on the server, autoescaped
      // like the fetched fragment): no fetch at all.
      stateEl.innerHTML = event.html;
      onState();
      return null;
    }
    var url = window.BranchFlowLive.withVersion(root.dataset.stateUrl, v);
    return window.BranchFlowLive.swap(url, stateEl).then(onState);
  }, {
    onStatus: function (ok) { offline.hidden = ok; }
  });

  setupOverlay();
  // Exposed for the board's own checks (docs/live-updates.md): announce without a new call.
  window.BranchFlowBoard = { announce: announce, chime: chime, speak: speak, spokenCode: spokenCode, enableSound: enableSound };
})();
