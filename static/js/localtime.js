// Progressive enhancement: next to each time range in the event's zone, show the viewer's own
// zone when it differs. Without JavaScript the event's zone is still shown. Times are written in
// the page's language (en-GB) and 24-hour, like the server's (lero_events/times.py).
(function () {
  "use strict";
  var language = document.documentElement.lang || undefined;
  var viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var dateTime = new Intl.DateTimeFormat(language, {
    weekday: "short", day: "numeric", month: "short", year: "numeric",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  });
  var timeOnly = new Intl.DateTimeFormat(language, { hour: "2-digit", minute: "2-digit",
    hourCycle: "h23", timeZoneName: "short" });

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
