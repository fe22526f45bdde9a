// Parse an iCalendar file from stdin with Mozilla's ical.js, as calendar clients do, and print
// what the Python tests compare: instants in UTC, identity, people and reminders, as JSON.
// Times with a TZID are resolved only through the VTIMEZONE in the file itself: a TZID that the
// file does not define is an error here, not a silent fall-back to floating time.
import ICAL from "ical.js";

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (chunk) => chunks.push(chunk));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

function instant(component, name) {
  const property = component.getFirstProperty(name);
  if (!property) return null;
  const time = property.getFirstValue();
  const tzid = property.getParameter("tzid") || null;
  if (tzid && (!time.zone || time.zone.tzid !== tzid)) {
    throw new Error(`${name} names TZID ${tzid} but the file has no VTIMEZONE for it`);
  }
  if (!tzid && !time.isDate && time.zone !== ICAL.Timezone.utcTimezone) {
    throw new Error(`${name} is a floating time`);
  }
  return { utc: time.toJSDate().toISOString(), tzid, local: time.toString() };
}

function address(property) {
  return {
    value: property.getFirstValue(),
    cn: property.getParameter("cn") || null,
    role: property.getParameter("role") || null,
    partstat: property.getParameter("partstat") || null,
    rsvp: property.getParameter("rsvp") || null,
  };
}

function describeEvent(vevent) {
  const organizer = vevent.getFirstProperty("organizer");
  return {
    uid: vevent.getFirstPropertyValue("uid"),
    sequence: vevent.getFirstPropertyValue("sequence"),
    status: vevent.getFirstPropertyValue("status"),
    summary: vevent.getFirstPropertyValue("summary"),
    description: vevent.getFirstPropertyValue("description"),
    location: vevent.getFirstPropertyValue("location"),
    url: vevent.getFirstPropertyValue("url"),
    dtstamp: instant(vevent, "dtstamp"),
    start: instant(vevent, "dtstart"),
    end: instant(vevent, "dtend"),
    organizer: organizer ? address(organizer) : null,
    attendees: vevent.getAllProperties("attendee").map(address),
    alarms: vevent.getAllSubcomponents("valarm").map((alarm) => ({
      action: alarm.getFirstPropertyValue("action"),
      trigger: alarm.getFirstPropertyValue("trigger").toString(),
    })),
  };
}

const text = await readStdin();
if (!text.trim()) throw new Error("no calendar on stdin");
const calendar = new ICAL.Component(ICAL.parse(text));
const refresh = calendar.getFirstPropertyValue("refresh-interval");
process.stdout.write(
  JSON.stringify({
    method: calendar.getFirstPropertyValue("method"),
    prodid: calendar.getFirstPropertyValue("prodid"),
    version: calendar.getFirstPropertyValue("version"),
    calname: calendar.getFirstPropertyValue("x-wr-calname"),
    refresh_interval: refresh ? refresh.toString() : null,
    timezones: calendar
      .getAllSubcomponents("vtimezone")
      .map((zone) => zone.getFirstPropertyValue("tzid")),
    events: calendar.getAllSubcomponents("vevent").map(describeEvent),
  }),
);
