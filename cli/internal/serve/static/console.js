// fedmeter console: write each <time datetime> in the viewer's time zone,
// keeping UTC on hover (the title the server wrote). The page reads the
// same without it: the server writes UTC.
"use strict";
(function () {
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function zone(d) {
    var off = -d.getTimezoneOffset(), sign = off < 0 ? "-" : "+";
    off = Math.abs(off);
    return "UTC" + sign + pad(Math.floor(off / 60)) + ":" + pad(off % 60);
  }
  var times = document.querySelectorAll("time[datetime]");
  for (var i = 0; i < times.length; i++) {
    var el = times[i], d = new Date(el.getAttribute("datetime"));
    if (isNaN(d.getTime())) { continue; }
    el.textContent = d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + " " + zone(d);
    el.classList.add("local");
  }
})();
