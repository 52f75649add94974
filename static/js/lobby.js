// Lobby tablet: offer "Send to self-service machines" only for a service that may be diverted,
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
