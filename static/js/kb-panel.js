// Knowledge base panel (quality) on the lobby tablet: when the manager picks a service, the
// panel shows that service's entries. Loaded by the panel fragment itself; the guard keeps one
// listener however often the fragment is swapped in. Without JS the panel's search still works.
(function () {
  if (window.branchflowKbPanel) { return; }
  window.branchflowKbPanel = true;
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input || input.name !== "service" || input.type !== "radio" || !window.htmx) { return; }
    var holder = document.querySelector(".ext-panels-lobby [data-kb-panel]");
    var section = holder && holder.closest(".ext-panel");
    if (!section) { return; }
    var base = (section.getAttribute("hx-get") || "").split("?")[0];
    if (!base) { return; }
    window.htmx.ajax("GET", base + "?service_id=" + encodeURIComponent(input.value), {
      target: section, swap: "innerHTML"
    });
  });
})();
