"use strict";
// The printable report's Print button (no inline script: the CSP forbids it).
document.addEventListener("DOMContentLoaded", () => {
  const print = document.getElementById("print");
  if (print) print.addEventListener("click", () => window.print());
});
// The as-of slider: dragging it fills the position field; letting go shows the record at that
// position. The page works without this script (type a position and press "Show as of").
document.addEventListener("DOMContentLoaded", () => {
  const slider = document.getElementById("as-of-slider");
  const input = document.getElementById("as-of-input");
  if (!slider || !input) return;
  slider.addEventListener("input", () => { input.value = slider.value; });
  slider.addEventListener("change", () => { input.value = slider.value; input.form.requestSubmit(); });
});
