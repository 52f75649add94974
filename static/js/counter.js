// Handling timer on the counter screen: counts up from the ticket's start and turns amber at
// the service's standard time and red at 1.5x. Re-binds after htmx swaps the panel.
(function () {
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick() {
    document.querySelectorAll(".timer[data-started-at]").forEach(function (el) {
      var started = Date.parse(el.dataset.startedAt);
      if (isNaN(started)) { return; }
      var seconds = Math.max(0, Math.floor((Date.now() - started) / 1000));
      var standard = Number(el.dataset.standardS) || 0;
      el.textContent = pad(Math.floor(seconds / 60)) + ":" + pad(seconds % 60);
      el.classList.toggle("over", standard > 0 && seconds >= standard && seconds < standard * 1.5);
      el.classList.toggle("late", standard > 0 && seconds >= standard * 1.5);
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
})();

// The finish form: the reason "not completed" and the follow-up date show for their outcome only.
(function () {
  function follow(form) {
    var select = form.querySelector("select[name=outcome]");
    if (!select) { return; }
    form.querySelectorAll("[data-for-outcome]").forEach(function (el) {
      el.hidden = el.dataset.forOutcome !== select.value;
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("form.finish select[name=outcome]")) { follow(event.target.form); }
  });
})();
