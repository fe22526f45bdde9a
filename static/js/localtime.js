// Progressive enhancement: next to each time range in the event's zone, show the viewer's own
// zone when it differs. Without JavaScript the event's zone is still shown.
(function () {
  "use strict";
  var viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var dateTime = new Intl.DateTimeFormat(undefined, {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
  });
  var timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit",
    timeZoneName: "short" });

  document.querySelectorAll(".time-range").forEach(function (range) {
    var start = new Date(range.dataset.start);
    var end = new Date(range.dataset.end);
    var eventZone = range.querySelector(".event-zone").textContent;
    var target = range.querySelector(".viewer-zone");
    if (!target || eventZone.indexOf("(" + viewerZone + ")") !== -1) {
      return;
    }
    target.textContent = "Your time (" + viewerZone + "): " + dateTime.format(start) + "–" +
      timeOnly.format(end);
    target.hidden = false;
  });
})();
