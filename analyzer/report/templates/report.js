(function () {
  "use strict";
  var root = document.documentElement;
  root.setAttribute("data-js", "ready");
  var bar = document.getElementById("filter");
  if (!bar) {
    return;
  }
  var boxes = bar.querySelectorAll("input[data-sev]");
  function apply() {
    boxes.forEach(function (box) {
      var sev = box.getAttribute("data-sev");
      document.querySelectorAll(".finding.sev-" + sev).forEach(function (el) {
        el.hidden = !box.checked;
      });
    });
  }
  boxes.forEach(function (box) {
    box.addEventListener("change", apply);
  });
  bar.hidden = false;
  apply();
})();
