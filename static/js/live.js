/* Live updates for BranchFlow screens (docs/live-updates.md).
 *
 * BranchFlowLive.follow(element, onChange) watches the branch version named by the element's
 * data-live-* attributes and calls onChange(version, event) whenever it changes; onChange
 * fetches the screen's own state (and may return a promise; changes arriving meanwhile are
 * coalesced, the newest event kept). `event` is the stream's parsed event: the board's and the
 * status page's streams carry what they show ({"v", "html"} / {"v", "outlook"} / {"v",
 * "refetch"}), so those screens fetch nothing; it is null when polling or on the safety refresh.
 *
 * Transport: server-sent events when data-live-sse="1" (ASGI + Redis), otherwise, or when the
 * stream fails, polling data-live-version-url every data-live-poll-ms (1 s). A poll answers
 * {"v": n} from the cache — the screen fetches real data only when n changed.
 */
(function () {
  "use strict";

  var MAX_POLL_BACKOFF_MS = 10000;
  var SSE_FAILURES_BEFORE_POLLING = 3;
  var SAFETY_REFRESH_MS = 60000; // re-read state now and then even if no change was seen

  function follow(el, onChange, options) {
    options = options || {};
    var versionUrl = el.dataset.liveVersionUrl;
    var eventsUrl = el.dataset.liveEventsUrl;
    var pollMs = parseInt(el.dataset.livePollMs, 10) || 1000;
    var current = el.dataset.liveVersion === undefined ? null : String(el.dataset.liveVersion);
    var running = false;
    var pending = false;
    var pendingEvent = null;
    var stopped = false;
    var source = null;
    var pollTimer = null;
    var failures = 0;
    var onStatus = options.onStatus || function () {};

    function refresh(event) {
      event = event || null;
      if (running) { pending = true; pendingEvent = event; return; }
      running = true;
      Promise.resolve()
        .then(function () { return onChange(current, event); })
        .catch(function (err) { console.warn("live: refresh failed", err); })
        .then(function () {
          running = false;
          if (pending && !stopped) {
            var next = pendingEvent;
            pending = false;
            pendingEvent = null;
            refresh(next);
          }
        });
    }

    function seen(v, event) {
      v = String(v);
      if (v !== current) { current = v; refresh(event); }
    }

    function schedulePoll(delay) {
      if (stopped) return;
      clearTimeout(pollTimer);
      pollTimer = setTimeout(poll, delay);
    }

    function poll() {
      if (stopped) return;
      fetch(versionUrl, { cache: "no-store", credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (response.status === 404 || response.status === 403) {
            // The live token expired (a board left on for days): reload for a fresh one.
            stop();
            setTimeout(function () { window.location.reload(); }, 5000);
            throw new Error("live token refused");
          }
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (body) {
          failures = 0;
          onStatus(true);
          seen(body.v);
          var hidden = document.visibilityState === "hidden";
          schedulePoll(hidden ? pollMs * 5 : pollMs);
        })
        .catch(function () {
          if (stopped) return;
          failures += 1;
          if (failures > 2) onStatus(false);
          schedulePoll(Math.min(pollMs * Math.pow(2, failures), MAX_POLL_BACKOFF_MS));
        });
    }

    function startPolling() {
      if (source) { source.close(); source = null; }
      schedulePoll(0);
    }

    function startStream() {
      var errors = 0;
      source = new EventSource(eventsUrl);
      source.onmessage = function (event) {
        errors = 0;
        onStatus(true);
        var data;
        try { data = JSON.parse(event.data); } catch (e) { return; /* ignore a malformed event */ }
        if (data && data.v !== undefined) seen(data.v, data);
      };
      source.onerror = function () {
        // Closed (e.g. 204: no stream here) or failing repeatedly: poll instead. A stream the
        // server ended on purpose (every ~5 min) reconnects by itself and sends the version.
        errors += 1;
        if (source.readyState === EventSource.CLOSED || errors >= SSE_FAILURES_BEFORE_POLLING) {
          startPolling();
        }
      };
    }

    function stop() {
      stopped = true;
      clearTimeout(pollTimer);
      if (source) { source.close(); source = null; }
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && !stopped && !source) schedulePoll(0);
    });
    setInterval(function () { if (!stopped) refresh(null); }, SAFETY_REFRESH_MS);

    if (el.dataset.liveSse === "1" && window.EventSource && eventsUrl) startStream();
    else startPolling();

    return { stop: stop, refresh: refresh };
  }

  /* The fragment URL for version v: the server caches each state per version, so every screen
   * told about v shares one render (?v= is the cache key, not a hint). */
  function withVersion(url, v) {
    if (v === null || v === undefined || v === "") return url;
    return url + (url.indexOf("?") === -1 ? "?" : "&") + "v=" + encodeURIComponent(v);
  }

  /* Staff screens (counter, lobby): an element with data-live-event="queue-changed" follows its
   * branch's version and dispatches that event on <body> on each change; htmx parts listen
   * with hx-trigger="queue-changed from:body". live.js's 60 s safety refresh doubles as the
   * slow safety poll, so an idle screen costs nothing while the queue does not change. */
  function autoFollow() {
    document.querySelectorAll("[data-live-event]").forEach(function (el) {
      if (el.dataset.liveFollowing) return;
      el.dataset.liveFollowing = "1";
      var name = el.dataset.liveEvent;
      follow(el, function (v) {
        document.body.dispatchEvent(new CustomEvent(name, { detail: { v: v } }));
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", autoFollow);
  else autoFollow();

  /* Fetch an HTML fragment and put it into target (same-origin, no scripts inside). */
  function swap(url, target) {
    return fetch(url, { cache: "no-store", credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) { target.innerHTML = html; return target; });
  }

  window.BranchFlowLive = { follow: follow, swap: swap, withVersion: withVersion };
})();
