// The monthly report's "Print / Save as PDF" button (CSP: no inline handlers).
(function () {
  "use strict";
  function bind() {
    document.querySelectorAll("[data-print]").forEach(function (button) {
      if (button.dataset.printBound) { return; }
      button.dataset.printBound = "1";
      button.addEventListener("click", function (event) {
        event.preventDefault();
        window.print();
      });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", bind);
  } else {
    bind();
  }
})();
