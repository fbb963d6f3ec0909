// Roster's small progressive enhancements. Everything works without this file.
"use strict";
(function () {
  var nextFocus = null;
  // Before a row is removed, remember where keyboard focus should go next: the following row's
  // trash icon (or first button), else the previous row's, else the Members heading. Events on the
  // removed row never reach the document, so focus moves when the out-of-band updates land.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && elt.matches && elt.matches("form.invite-form")) {
      // After inviting, read out the results (or return to the box when there are none).
      nextFocus = function () { return document.getElementById("invite-results") || document.getElementById("invite-emails"); };
      return;
    }
    if (!elt || !elt.hasAttribute("hx-delete")) return;
    var row = elt.closest("tr");
    var next = row && (row.nextElementSibling || row.previousElementSibling);
    var target = next && (next.querySelector("button[hx-delete]") || next.querySelector("button, a[href], summary"));
    nextFocus = target || document.getElementById("members-title");
  });
  function moveFocus(event) {
    if (typeof nextFocus === "function") {
      // The invite form's own content is swapped last: wait for it to settle.
      if (event.type !== "htmx:afterSettle") return;
      nextFocus = nextFocus();
    }
    if (nextFocus && document.body.contains(nextFocus)) {
      var el = nextFocus;
      nextFocus = null;
      window.setTimeout(function () { el.focus(); }, 0);
    }
  }
  document.addEventListener("htmx:oobAfterSwap", moveFocus);
  document.addEventListener("htmx:afterSettle", moveFocus);
})();
