// Sidebar buttons on phones and tablets (pydata-sphinx-theme >= 0.16 with sphinx-book-theme).
// Both themes bind their sidebar handlers to the *first* .primary-toggle / .secondary-toggle of
// the page, which is pydata's navbar button, hidden in the book layout; the buttons a reader
// sees (sphinx-book-theme's header) therefore did nothing. Forward their clicks to the first.
document.addEventListener("DOMContentLoaded", function () {
  [".primary-toggle", ".secondary-toggle"].forEach(function (selector) {
    var all = document.querySelectorAll(selector);
    for (var i = 1; i < all.length; i++) {
      all[i].addEventListener("click", function (event) {
        event.preventDefault();
        event.stopPropagation();
        all[0].click();
      });
    }
  });
});
