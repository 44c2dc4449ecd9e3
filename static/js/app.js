// Site-wide behaviour that htmx does not cover: tell the user when a partial request failed
// instead of leaving the page silently unchanged (404s and 5xx are not swapped by design).
(function () {
  "use strict";

  function toast(text, kind) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.innerHTML = "";
    var msg = document.createElement("div");
    msg.className = "msg msg-" + (kind || "error");
    msg.textContent = text;
    box.appendChild(msg);
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 6000);
  }

  document.addEventListener("htmx:responseError", function (evt) {
    var status = evt.detail.xhr ? evt.detail.xhr.status : 0;
    if (status === 404) {
      toast("工单不存在或无权查看（404）。请刷新页面。");
    } else if (status === 403) {
      toast("请求被拒绝（403）：页面可能已过期，请刷新后重试。");
    } else {
      toast("操作失败（" + status + "），请稍后重试或刷新页面。");
    }
  });
  document.addEventListener("htmx:sendError", function () {
    toast("网络连接失败，请检查网络后重试。");
  });

  // A button or form with data-confirm asks first (merging a ticket cannot be undone from the desk).
  document.addEventListener("submit", function (evt) {
    var source = (evt.submitter && evt.submitter.closest("[data-confirm]")) || evt.target.closest("[data-confirm]");
    if (source && !window.confirm(source.getAttribute("data-confirm"))) {
      evt.preventDefault();
      evt.stopPropagation(); // capture phase: an hx-post form's own handler never hears of it
    }
  }, true);

  // Quick picks under the dispatch form: one click puts a suggested unit in the lead-unit select.
  // Delegated, because dispatch forms arrive later through htmx.
  document.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-pick-select]");
    if (!btn) return;
    var select = document.getElementById(btn.getAttribute("data-pick-select"));
    if (!select) return;
    select.value = btn.getAttribute("data-pick-value");
    select.dispatchEvent(new Event("change", { bubbles: true }));
    select.focus();
  });
})();
