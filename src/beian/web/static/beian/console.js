// beian console: small progressive enhancements (no inline scripts anywhere: CSP without 'unsafe-inline').
(function () {
  "use strict";
  // Countdown on buttons such as "重新发送验证码": data-available-at is an ISO time; the button is
  // disabled until then and shows the seconds left.
  function tick() {
    document.querySelectorAll("[data-available-at]").forEach(function (el) {
      var left = Math.ceil((Date.parse(el.dataset.availableAt) - Date.now()) / 1000);
      var label = el.dataset.label || el.textContent;
      el.dataset.label = label;
      if (left > 0) {
        el.disabled = true;
        el.textContent = label + " (" + left + "s)";
      } else {
        el.disabled = false;
        el.textContent = label;
      }
    });
  }
  // Confirmation for destructive buttons: data-confirm holds the question.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = (button && button.dataset.confirm) || event.target.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
  });
})();
