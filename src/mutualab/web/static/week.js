// The week grid of a resource page moves to the previous or next week without reloading the
// page: the same address with ?part=week answers the grid alone. Without JavaScript (or if the
// request fails) the links work as plain links.
(() => {
  const swap = async (href, push) => {
    const url = new URL(href, window.location.href);
    url.searchParams.set("part", "week");
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const html = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = html.getElementById("week");
    const current = document.getElementById("week");
    if (!fresh || !current) throw new Error("no week grid");
    current.replaceWith(fresh);
    if (push) window.history.pushState({ week: href }, "", href);
    // Moving the focus to the new heading tells screen readers what changed.
    fresh.querySelector("h2").focus();
  };
  document.addEventListener("click", (event) => {
    const link = event.target.closest("#week .pager a");
    if (!link || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    swap(link.href, true).catch(() => window.location.assign(link.href));
  });
  window.addEventListener("popstate", () => {
    swap(window.location.href, false).catch(() => window.location.reload());
  });
})();
