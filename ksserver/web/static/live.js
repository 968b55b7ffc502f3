// Live state on the host table without reloading: every few seconds, the boot action (and install stage,
// when the server knows one) of the hosts on this page, from the console's JSON endpoint. Values are set
// as text, never as markup.
const POLL_MS = 5000;
const cells = [...document.querySelectorAll("td[data-host]")];
const endpoint = document.querySelector("thead[data-live]")?.dataset.live;

async function poll() {
  const query = cells.map((c) => "host=" + encodeURIComponent(c.dataset.host)).join("&");
  try {
    const response = await fetch(endpoint + "?" + query, { credentials: "same-origin" });
    if (response.ok) {
      const byName = new Map((await response.json()).hosts.map((h) => [h.name, h]));
      for (const cell of cells) {
        const host = byName.get(cell.dataset.host);
        if (!host) continue;
        const text = host.stage ? `${host.boot} (${host.stage})` : host.boot;
        if (cell.textContent !== text) {
          cell.textContent = text;
          cell.className = "boot-" + host.boot;
        }
      }
    }
  } catch (err) {
    // the server restarting or the network away: try again at the next tick
  }
  setTimeout(poll, POLL_MS);
}

if (cells.length && endpoint) setTimeout(poll, POLL_MS);
