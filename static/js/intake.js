// Intake page: the operator keeps both hands on the keyboard.
// Ctrl+Enter (⌘+Enter) submits the main action; the content box shows its length against the limit.
(function () {
  "use strict";
  var form = document.getElementById("intake-form");
  if (!form) return;

  form.addEventListener("keydown", function (evt) {
    if (evt.key === "Enter" && (evt.ctrlKey || evt.metaKey)) {
      evt.preventDefault();
      var main = form.querySelector("button[name=submit][value=dispatch]");
      if (form.requestSubmit) form.requestSubmit(main); else main.click();
    }
  });

  var content = document.getElementById("id_content");
  var counter = document.getElementById("content-counter");
  if (content && counter) {
    var max = parseInt(content.getAttribute("data-maxlength"), 10) || 0;
    var update = function () {
      var n = content.value.length;
      counter.textContent = n + " / " + max;
      counter.classList.toggle("over", max > 0 && n > max);
    };
    content.addEventListener("input", update);
    update();
  }
})();
