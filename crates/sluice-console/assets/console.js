// Progressive enhancement only: every page reads and every form submits without this file.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // "Select all" boxes of tables that feed a bulk form.
  for (const all of document.querySelectorAll("input.pick-all")) {
    all.addEventListener("change", () => {
      for (const box of document.querySelectorAll(`input[type=checkbox][form="${all.dataset.form}"]`)) {
        box.checked = all.checked;
      }
    });
  }
  // The server switcher switches on choosing (its button stays for keyboards without script).
  const switcher = document.getElementById("switch-server");
  if (switcher) switcher.addEventListener("change", () => switcher.form.submit());
  // Forms that ask before they change many things.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (e) => {
      if (!window.confirm(form.dataset.confirm)) e.preventDefault();
    });
  }
  // Live parts (a running synchronization): refresh from their URL while active.
  for (const part of document.querySelectorAll("[data-live]")) {
    const refresh = async () => {
      if (part.dataset.active !== "true") return;
      try {
        const r = await fetch(part.dataset.live, { credentials: "same-origin" });
        if (r.ok) {
          const fresh = document.createElement("div");
          fresh.innerHTML = await r.text();
          const next = fresh.firstElementChild;
          if (next) { part.innerHTML = next.innerHTML; part.dataset.active = next.dataset.active; }
        }
      } catch (_) { /* the next tick tries again */ }
      setTimeout(refresh, 2000);
    };
    setTimeout(refresh, 2000);
  }
});
