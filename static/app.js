// Roster's small progressive enhancements. Everything works without this file.
"use strict";
document.addEventListener("htmx:afterSwap", function (event) {
  // After a swap that removed the focused element, put focus somewhere sensible.
  if (!document.activeElement || document.activeElement === document.body) {
    var main = document.getElementById("main");
    if (main) main.focus();
  }
});
