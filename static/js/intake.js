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

  // Knowledge base: the title is the best first query, until the operator types their own words.
  var title = document.getElementById("id_title");
  var kb = document.getElementById("kb-q");
  if (title && kb) {
    kb.addEventListener("input", function (evt) {
      if (evt.isTrusted) kb.dataset.manual = kb.value.trim() ? "1" : "";
    });
    var sync = function () {
      if (kb.dataset.manual) return;
      kb.value = title.value;
      kb.dispatchEvent(new Event("kb-sync"));
    };
    title.addEventListener("input", sync);
  }

  // What is already in the boxes once htmx has wired up their triggers (after DOMContentLoaded):
  // a form re-shown after an error, or keys typed while a slow page was still loading its scripts,
  // which no trigger saw. Look the number up and search with the title straight away.
  document.addEventListener("DOMContentLoaded", function () {
    setTimeout(function () {
      var phone = document.getElementById("id_caller_phone");
      if (phone && phone.value.trim()) phone.dispatchEvent(new Event("change"));
      if (title && kb && title.value.trim()) sync();
    }, 0);
  });

  // 采用此答复: the article's answer goes into the answer box and the article is cited on the ticket.
  var answer = document.getElementById("id_answer");
  var cited = document.getElementById("id_knowledge_article");
  var adopted = document.getElementById("kb-adopted");
  var adoptedTitle = document.getElementById("kb-adopted-title");
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-kb-adopt]");
    if (!btn || !answer || !cited) return;
    var hit = btn.closest(".kb-hit");
    answer.value = hit.querySelector(".kb-answer").textContent;
    cited.value = btn.getAttribute("data-kb-adopt");
    if (adopted) {
      adoptedTitle.textContent = hit.querySelector(".kb-title").textContent;
      adopted.hidden = false;
    }
    answer.focus();
  });
  var clear = document.getElementById("kb-clear");
  if (clear) {
    clear.addEventListener("click", function () {
      cited.value = "";
      adopted.hidden = true;
    });
  }
})();
