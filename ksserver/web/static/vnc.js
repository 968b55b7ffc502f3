// The VM console: noVNC's RFB client on the one-time websockify proxy named by #screen's data attributes.
const screen = document.getElementById("screen");
const status = document.getElementById("vnc-status");
const { default: RFB } = await import(screen.dataset.novnc);
const scheme = location.protocol === "https:" ? "wss" : "ws";
const url = `${scheme}://${location.hostname}:${screen.dataset.port}/?token=${encodeURIComponent(screen.dataset.token)}`;
const rfb = new RFB(screen, url);
rfb.scaleViewport = true;
rfb.addEventListener("connect", () => { status.textContent = "connected"; });
rfb.addEventListener("disconnect", (e) => { status.textContent = e.detail.clean ? "disconnected" : "connection lost"; });
