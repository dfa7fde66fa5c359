// A "copy" button for a read-only field (the private feed's address). Without JavaScript the
// button stays hidden and the field is copied by hand; where the clipboard is refused (a page
// served over plain HTTP from another machine), the text is selected and the status says so.
(() => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const field = document.getElementById(button.dataset.copy);
    const status = document.getElementById(button.dataset.copied);
    if (!field || !status) continue;
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        if (!navigator.clipboard) throw new Error("no clipboard");
        await navigator.clipboard.writeText(field.value);
        status.textContent = status.dataset.done;
      } catch {
        field.focus();
        field.select();
        status.textContent = status.dataset.failed;
      }
    });
  }
})();
