// The page's one script: naming advice while a name is typed, and the key
// file field shown for the types that take a file. The forms work without
// it; it never reads or sends a value.
"use strict";
(function () {
  var name = document.getElementById("name");
  var advice = document.getElementById("advice");
  if (name && advice) {
    var first = advice.textContent;
    var timer = null;
    var ask = function () {
      var v = name.value;
      if (v === "") {
        advice.textContent = first;
        advice.className = "advice";
        return;
      }
      fetch("/advice?name=" + encodeURIComponent(v), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (a) {
          if (!a || name.value !== v) { return; }
          if (a.problem) {
            advice.textContent = a.problem;
            advice.className = "advice problem";
          } else if (a.advice) {
            advice.textContent = a.advice;
            advice.className = "advice hint";
          } else {
            advice.textContent = v + " is a good name.";
            advice.className = "advice";
          }
        })
        .catch(function () {});
    };
    name.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(ask, 150);
    });
    if (name.value !== "") { ask(); }
  }
  var type = document.getElementById("type");
  var keyfile = document.getElementById("keyfile");
  if (type && keyfile) {
    var show = function () {
      keyfile.hidden = !(type.value === "key" || type.value === "file");
    };
    type.addEventListener("change", show);
    show();
  }
  var confirmField = document.getElementById("confirm");
  if (confirmField) { confirmField.focus(); }
})();
