// "Copy" buttons next to read-only links (data-copy names the input): shown only where this
// script runs, since without it the link can still be selected and copied by hand.
(function () {
  "use strict";
  var status = document.getElementById("copy-status");

  function say(text) {
    if (status) {
      status.textContent = text;
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var input = document.getElementById(button.dataset.copy);
    if (!input) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var label = input.labels && input.labels[0] ? input.labels[0].textContent : "The link";
      function copied() { say(label.trim() + " copied."); }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(copied, function () {
          input.select();
          say("Select the link and copy it (Ctrl+C or Cmd+C).");
        });
        return;
      }
      // Plain http on a LAN has no clipboard API: the old way still works there.
      input.select();
      if (document.execCommand && document.execCommand("copy")) {
        copied();
      } else {
        say("Select the link and copy it (Ctrl+C or Cmd+C).");
      }
    });
  });
})();
