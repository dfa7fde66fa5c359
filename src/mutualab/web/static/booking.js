// The booking form re-quotes a changed time without a reload: the review page of the typed time
// is fetched and its quote (with the time and fingerprint it was made for) replaces the one on
// screen, so "confirm" books what is shown. Without JavaScript, or while a quote is on its way,
// the server compares the typed time with the shown one and asks again rather than book.
(() => {
  const form = document.getElementById("book-form");
  if (!form) return;
  const fields = ["day", "start", "end", "quantity"];
  const regions = ["chosen-slot", "review-problems", "quoted"];
  let latest = 0;
  let timer = null;

  const requote = async () => {
    const url = new URL(form.dataset.review, window.location.href);
    for (const name of fields) {
      const input = form.elements.namedItem(name);
      if (input) url.searchParams.set(name, input.value);
    }
    const wallet = form.elements.namedItem("wallet");
    if (wallet && wallet.checked) url.searchParams.set("wallet", "1");
    // A promo code applied to the shown quote stays applied to the new time's.
    const coupon = form.elements.namedItem("shown_coupon");
    if (coupon && coupon.value) url.searchParams.set("coupon", coupon.value);
    const ticket = ++latest;
    form.setAttribute("aria-busy", "true");
    const chosen = form.querySelector("input[name=method]:checked");
    const response = await fetch(url, { credentials: "same-origin" });
    // A refused time (422) or a taken one (409) still renders the page with its reasons.
    const html = new DOMParser().parseFromString(await response.text(), "text/html");
    if (ticket !== latest) return; // a newer change is being quoted
    for (const id of regions) {
      const fresh = html.getElementById(id);
      const current = document.getElementById(id);
      if (!fresh || !current) throw new Error(`no #${id}`);
      // Children only: the live region stays the same element, so the change is announced.
      current.replaceChildren(...fresh.childNodes);
    }
    // The waitlist's fields (in #quoted) belong to a form of their own, after this one.
    const waitlist = html.getElementById("waitlist-form");
    if (waitlist && !document.getElementById("waitlist-form")) form.after(waitlist);
    if (chosen) {
      const again = form.querySelector(`input[name=method][value="${chosen.value}"]`);
      if (again) again.checked = true;
    }
    form.removeAttribute("aria-busy");
    window.history.replaceState(null, "", url);
  };

  const later = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => {
      requote().catch(() => form.removeAttribute("aria-busy"));
    }, 250);
  };
  for (const name of fields) {
    const input = form.elements.namedItem(name);
    if (input && input.type !== "hidden") {
      input.addEventListener("change", later);
      input.addEventListener("input", later);
    }
  }
  // "Pay from my wallet" is re-rendered with the quote: listen on the form for it.
  form.addEventListener("change", (event) => {
    if (event.target && event.target.name === "wallet") later();
  });
})();
