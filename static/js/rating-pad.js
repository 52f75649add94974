/* The counter rating pad (feedback/templates/feedback/pad/pad.html).
 *
 * Idle until a ticket is finished at its counter: it follows the branch's live version like the
 * display board (live.js) and refetches its state fragment on each change. While it thanks the
 * customer or asks why they were dissatisfied it holds; then it goes back to idle.
 */
(function () {
  "use strict";

  var THANKS_MS = 4000;
  var REASON_MS = 60000;

  function start() {
    var root = document.getElementById("pad");
    var state = document.getElementById("pad-state");
    if (!root || !state || !window.BranchFlowLive) return;
    var url = root.dataset.stateUrl;
    var latest = null;

    function held() { return state.querySelector("[data-pad-hold]"); }

    function refresh(v) {
      latest = v;
      if (held()) return null;
      return window.BranchFlowLive.swap(window.BranchFlowLive.withVersion(url, v), state);
    }

    function release(delay) {
      setTimeout(function () {
        var hold = held();
        if (hold) hold.removeAttribute("data-pad-hold");
        window.BranchFlowLive.swap(window.BranchFlowLive.withVersion(url, latest), state)
          .then(function () {
            // The answer page was a POST: put the pad's own address back so a reload is a GET.
            if (window.history && window.history.replaceState) {
              window.history.replaceState(null, "", root.dataset.padUrl || window.location.pathname.replace(/answer\/$/, ""));
            }
          });
      }, delay);
    }

    var hold = held();
    if (hold) release(hold.dataset.padHold === "thanks" ? THANKS_MS : REASON_MS);
    window.BranchFlowLive.follow(root, refresh);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
