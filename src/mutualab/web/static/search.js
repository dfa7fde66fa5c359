// "Near me" on the home page: the browser's position fills the search's hidden coordinates.
// Without JavaScript or geolocation the button stays hidden; the town field does the job.
(() => {
  const button = document.getElementById("near-me");
  if (!button || !("geolocation" in navigator)) return;
  const status = document.getElementById("near-me-status");
  button.closest(".near-me").hidden = false;
  button.addEventListener("click", () => {
    status.textContent = button.dataset.searching || "…";
    navigator.geolocation.getCurrentPosition(
      (position) => {
        document.getElementById("lat").value = position.coords.latitude.toFixed(4);
        document.getElementById("lon").value = position.coords.longitude.toFixed(4);
        status.textContent = button.dataset.found || "";
        const radius = document.getElementById("radius");
        if (!radius.value) radius.value = "10";
      },
      () => {
        status.textContent = button.dataset.failed || "";
      },
      { maximumAge: 600000, timeout: 10000 },
    );
  });
})();
