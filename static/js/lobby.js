// Lobby tablet: time the greeting from the manager's first tap for a customer (sent as elapsed
// seconds, never as this tablet's clock time: the server subtracts it from its own clock), offer "Send to self-service machines" only for a service that may be diverted,
// and show the appointment time only when "Appointment" is ticked. Without JS both stay
// visible and the server decides (reception.services.visit_register refuses a wrong diversion).
(function () {
  function setUp(form) {
    var divert = form.querySelector("[data-divert-button]");
    var appointment = form.querySelector("input[name=appointment]");
    var appointmentTime = form.querySelector("[data-appointment-time]");

    function updateDivert() {
      if (!divert) { return; }
      var chosen = form.querySelector("input[name=service]:checked");
      divert.disabled = !(chosen && chosen.dataset.divertible === "true");
    }
    function updateAppointment() {
      if (!appointment || !appointmentTime) { return; }
      var input = appointmentTime.querySelector("input");
      var keep = appointment.checked || appointmentTime.classList.contains("has-error");
      appointmentTime.hidden = !keep;
      if (appointment.checked && input && !input.value) { input.focus(); }
    }

    // The greeting starts at the first tap for a new customer; a page shown again after an
    // error carries the seconds already counted, so the clock goes on from there.
    var elapsed = form.querySelector("[data-greeting-elapsed]");
    var clock = form.querySelector("[data-greeting-clock]");
    var clockValue = clock && clock.querySelector("[data-greeting-clock-value]");
    var startedAt = null;
    if (elapsed && elapsed.value !== "" && !isNaN(Number(elapsed.value))) {
      startedAt = performance.now() - Number(elapsed.value) * 1000;
    }
    function seconds() {
      return startedAt === null ? 0 : Math.max(0, Math.round((performance.now() - startedAt) / 1000));
    }
    function showClock() {
      if (!clock || startedAt === null) { return; }
      var s = seconds();
      clock.hidden = false;
      clockValue.textContent = Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
      clock.classList.toggle("is-late", s > Number(clock.dataset.targetS || 300));
    }
    function start() {
      if (startedAt === null) { startedAt = performance.now(); showClock(); }
    }
    ["pointerdown", "keydown"].forEach(function (type) {
      form.addEventListener(type, start, { passive: true });
    });
    form.addEventListener("submit", function () {
      if (elapsed && startedAt !== null) { elapsed.value = String(seconds()); }
    });
    if (startedAt !== null) { showClock(); }
    setInterval(showClock, 1000);

    form.addEventListener("change", function (event) {
      if (event.target.name === "service") { updateDivert(); }
      if (event.target === appointment) { updateAppointment(); }
    });
    updateDivert();
    if (appointment && appointmentTime) {
      appointmentTime.hidden = !(appointment.checked || appointmentTime.classList.contains("has-error"));
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-lobby-form]").forEach(setUp);
  });
})();
