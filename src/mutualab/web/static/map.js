// Draws the places of a page on a Leaflet map. The page already lists each place with its
// address and an OpenStreetMap link: without Leaflet, or when the tiles cannot load, nothing
// else is needed, so any failure here leaves the map hidden.
(() => {
  if (!window.L) return;
  for (const element of document.querySelectorAll(".map[data-points]")) {
    const points = JSON.parse(element.dataset.points);
    if (!points.length) continue;
    element.hidden = false;
    const map = window.L.map(element, { scrollWheelZoom: false });
    window.L.tileLayer(element.dataset.tiles, {
      maxZoom: 19,
      attribution: element.dataset.attribution,
    }).addTo(map);
    const bounds = [];
    for (const point of points) {
      const link = document.createElement("a");
      link.href = point.href;
      link.textContent = point.name;
      window.L.marker([point.lat, point.lon], { title: point.name, alt: point.name })
        .addTo(map)
        .bindPopup(link);
      bounds.push([point.lat, point.lon]);
    }
    if (bounds.length === 1) map.setView(bounds[0], 14);
    else map.fitBounds(bounds, { padding: [24, 24], maxZoom: 14 });
  }
})();
