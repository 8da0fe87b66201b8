// Times in the reader's own time zone, with how long ago they were.
//
// Pages are cached and served alike to everyone, so the server writes each time in the
// site's zone (`<time datetime="…Z">10 Mar 2026, 14:05 JST</time>`). Here each such time is
// rewritten in the browser's zone, the server's text kept as its tooltip, and followed by
// a relative time ("3 hr. ago") that is refreshed every minute. Should anything fail, the
// server's text stays as it was.
//
// Also: an empty field of the filter form is left out of the address it submits, so that
// a view's address holds only what the view asks for.
(function () {
  "use strict";

  var MINUTE = 60 * 1000;
  var UNITS = [
    ["year", 365 * 24 * 60 * MINUTE],
    ["month", 30 * 24 * 60 * MINUTE],
    ["week", 7 * 24 * 60 * MINUTE],
    ["day", 24 * 60 * MINUTE],
    ["hour", 60 * MINUTE],
    ["minute", MINUTE],
  ];

  function pageLocale() {
    // The reader's own variant of the page's language (en-GB writes "10 Mar"), else the
    // page's language.
    var page = document.documentElement.lang || "en";
    var reader = navigator.language || "";
    return reader.split("-")[0] === page.split("-")[0] ? reader : page;
  }

  function formats(locale) {
    var now = new Date();
    return {
      thisYear: now.getFullYear(),
      sameYear: new Intl.DateTimeFormat(locale, {
        day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZoneName: "short",
      }),
      otherYear: new Intl.DateTimeFormat(locale, {
        day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit",
        timeZoneName: "short",
      }),
      relative: typeof Intl.RelativeTimeFormat === "function"
        ? new Intl.RelativeTimeFormat(locale, { numeric: "auto", style: "short" })
        : null,
    };
  }

  function ago(relative, moment, now) {
    var elapsed = moment.getTime() - now;
    for (var i = 0; i < UNITS.length; i++) {
      var unit = UNITS[i];
      if (Math.abs(elapsed) >= unit[1]) {
        return relative.format(Math.round(elapsed / unit[1]), unit[0]);
      }
    }
    return relative.format(0, "minute");
  }

  function rewrite(time, f) {
    var moment = new Date(time.getAttribute("datetime"));
    if (isNaN(moment.getTime())) {
      return;
    }
    if (!time.hasAttribute("data-site-time")) {
      var local = (moment.getFullYear() === f.thisYear ? f.sameYear : f.otherYear).format(moment);
      time.setAttribute("data-site-time", time.textContent);
      time.title = time.textContent;
      time.textContent = local;
    }
    if (f.relative) {
      var label = time.nextElementSibling;
      if (!label || !label.classList.contains("ago")) {
        label = document.createElement("span");
        label.className = "ago";
        time.after(label);
      }
      label.textContent = " (" + ago(f.relative, moment, Date.now()) + ")";
    }
  }

  function rewriteAll(f) {
    var times = document.querySelectorAll('time[datetime$="Z"]');
    for (var i = 0; i < times.length; i++) {
      try {
        rewrite(times[i], f);
      } catch (error) {
        // This one keeps the server's text.
      }
    }
  }

  function leaveOutEmptyFields(form) {
    form.addEventListener("formdata", function (event) {
      var empty = [];
      event.formData.forEach(function (value, name) {
        if (value === "") {
          empty.push(name);
        }
      });
      empty.forEach(function (name) {
        event.formData.delete(name);
      });
    });
  }

  try {
    var f = formats(pageLocale());
    rewriteAll(f);
    window.setInterval(function () { rewriteAll(f); }, MINUTE);
  } catch (error) {
    // No Intl here: the server's times stay.
  }
  var forms = document.querySelectorAll("form.filters");
  for (var i = 0; i < forms.length; i++) {
    leaveOutEmptyFields(forms[i]);
  }
})();
