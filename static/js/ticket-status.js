/* The customer's ticket pages.
 * - Status page (#ticket-status): follows the branch's queue version (live.js), re-reads this
 *   ticket's state when it changes, vibrates when the ticket is called (or recalled), and
 *   stops following once the ticket is final.
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

  follower = window.BranchFlowLive.follow(root, function (v) {
    // Spread the re-reads of many phones over a moment (every change of the branch wakes them).
    var jitter = Math.random() * 400;
    var url = window.BranchFlowLive.withVersion(root.dataset.stateUrl, v);
    return new Promise(function (resolve) { setTimeout(resolve, jitter); })
      .then(function () { return window.BranchFlowLive.swap(url, stateEl); })
      .then(onState);
  }, {
    onStatus: function (ok) { offline.hidden = ok; }
  });
})();
