/* The customer's ticket pages.
 * - Status page (#ticket-status): follows the branch's queue version (live.js). The stream
 *   carries this ticket's place and wait ({"outlook", "status"}: put in place, no fetch) or
 *   says the ticket itself changed ({"refetch": 1}: re-read the card at once); an event without
 *   either (polling, an older server) re-reads the card after a random moment, as before.
 *   Vibrates when the ticket is called (or recalled), and stops following once it is final.
 * - Printed ticket: the Print button, and ?print=1 prints at once.
 */
(function () {
  "use strict";

  /* ---- printed ticket ---- */
  var printButton = document.querySelector("[data-print-button]");
  if (printButton) {
    printButton.addEventListener("click", function () { window.print(); });
    if (printButton.hasAttribute("data-auto-print")) {
      window.addEventListener("load", function () { setTimeout(function () { window.print(); }, 300); });
    }
  }

  /* ---- status page ---- */
  var root = document.getElementById("ticket-status");
  if (!root || !window.BranchFlowLive) return;
  var stateEl = document.getElementById("ticket-state");
  var offline = document.getElementById("status-offline");

  function card() { return stateEl.querySelector("[data-status]"); }
  var lastCallKey = card() ? card().dataset.callKey : "";
  var lastStatus = card() ? card().dataset.status : "";

  function alertCalled() {
    if (navigator.vibrate) {
      try { navigator.vibrate([400, 200, 400, 200, 400]); } catch (e) { /* not allowed: fine */ }
    }
    var title = document.title;
    document.title = "🔔 " + title.replace(/^🔔 /, "");
  }

  var follower = null;
  function onState() {
    var now = card();
    if (!now) return;
    var key = now.dataset.callKey;
    if (now.dataset.status === "called" && (key !== lastCallKey || lastStatus !== "called")) alertCalled();
    lastCallKey = key;
    lastStatus = now.dataset.status;
    if (now.hasAttribute("data-final") && follower) follower.stop();
  }

  if (card() && card().hasAttribute("data-final")) return; // nothing will change any more

  /* Put the stream's outlook in place; false when the card shown cannot take it (its status
   * differs, or it shows no place: e.g. a remote ticket whose turn came). */
  function applyOutlook(event) {
    var now = card();
    var target = now && now.querySelector("[data-outlook]");
    if (!target || now.dataset.status !== event.status) return false;
    var holder = document.createElement("div");
    holder.innerHTML = event.outlook; // server-rendered, autoescaped like the fetched card
    var fresh = holder.querySelector("[data-outlook]");
    if (!fresh) return false;
    target.replaceWith(fresh);
    return true;
  }

  follower = window.BranchFlowLive.follow(root, function (v, event) {
    var url = window.BranchFlowLive.withVersion(root.dataset.stateUrl, v);
    if (event && typeof event.outlook === "string" && applyOutlook(event)) return null;
    if (event && (event.refetch || typeof event.outlook === "string")) {
      // About this phone's ticket only (a handful of phones per change): at once.
      return window.BranchFlowLive.swap(url, stateEl).then(onState);
    }
    // Spread the re-reads of many phones over a moment (every change of the branch wakes them).
    var jitter = Math.random() * 400;
    return new Promise(function (resolve) { setTimeout(resolve, jitter); })
      .then(function () { return window.BranchFlowLive.swap(url, stateEl); })
      .then(onState);
  }, {
    onStatus: function (ok) { offline.hidden = ok; }
  });
})();
