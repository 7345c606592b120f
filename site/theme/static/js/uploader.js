// The uploader: drop, paste or choose a photo; it is checked, uploaded with a progress bar and cut out,
// then shown on a checkerboard beside the original, on the background of your choice, ready to download.
import { csrfToken, describe, session } from "./api.js";

const TYPES = ["image/jpeg", "image/png", "image/webp"];
const MAX_BYTES = 25_000_000;
const root = document.querySelector("[data-uploader]");
const part = (name) => root.querySelector(`[data-${name}]`);
const [fileInput, progressBox, errorBox, resultBox, statusLine] = ["file", "progress", "error", "result", "status"].map(part);
const bar = progressBox.querySelector("progress");
const [before, after, layer, compare, download, note] = ["before", "after", "after-layer", "compare", "download", "result-note"].map(part);
let account = { signed_in: false, account: null };
let result = null; // { name, beforeUrl, afterUrl, flatUrl }

function setState(state, message = "") {
  root.dataset.state = state;
  statusLine.textContent = message;
  progressBox.hidden = state !== "uploading" && state !== "processing";
  errorBox.hidden = state !== "error";
}

function fail(message) {
  errorBox.textContent = message;
  setState("error");
  errorBox.scrollIntoView({ block: "nearest" });
}

function problemWith(file) {
  const name = file.name ? `“${file.name}”` : "That file";
  if (!TYPES.includes(file.type)) return `${name} is not a JPEG, PNG or WebP image. Choose a photo in one of those formats.`;
  if (file.size > MAX_BYTES) return `${name} is ${(file.size / 1e6).toFixed(1)} MB; the limit is 25 MB.`;
  if (file.size === 0) return `${name} is empty.`;
  return null;
}

function forget() {
  if (!result) return;
  for (const url of [result.beforeUrl, result.afterUrl, result.flatUrl]) if (url) URL.revokeObjectURL(url);
  result = null;
}

function upload(file) {
  if (root.dataset.state === "uploading" || root.dataset.state === "processing") return;
  const problem = problemWith(file);
  if (problem) return fail(problem);
  forget();
  resultBox.hidden = true;
  bar.value = 0;
  part("progress-label").textContent = "Uploading…";
  setState("uploading", "Uploading your photo…");

  const chosen = root.querySelector("[name$='-size']:checked");
  const form = new FormData();
  form.append("image_file", file, file.name || "pasted-image");
  form.append("size", account.signed_in && chosen ? chosen.value : "preview");
  form.append("format", "png");

  const request = new XMLHttpRequest();
  request.open("POST", "/api/v1/removebg");
  request.responseType = "blob";
  request.setRequestHeader("X-CSRFToken", csrfToken());
  request.upload.addEventListener("progress", (event) => {
    if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
  });
  request.upload.addEventListener("load", () => {
    bar.value = 100;
    part("progress-label").textContent = "Uploaded. Removing the background…";
    setState("processing", "Removing the background…");
  });
  request.addEventListener("error", () => fail("The upload did not get through. Check your connection and try again."));
  request.addEventListener("load", () => (request.status === 200 ? show(file, request) : refuse(request)));
  request.send(form);
}

async function refuse(request) {
  let body = null;
  try {
    body = JSON.parse(await request.response.text());
  } catch {
    // not JSON: describe() falls back to words of its own
  }
  fail(describe(request.status, request.getResponseHeader("Retry-After"), body).message);
}

async function show(file, request) {
  const stem = (file.name || "image").replace(/\.[^.]+$/, "");
  result = { name: `${stem}-cutout.png`, beforeUrl: URL.createObjectURL(file), afterUrl: URL.createObjectURL(request.response) };
  before.src = result.beforeUrl;
  after.src = result.afterUrl;
  await Promise.all([before.decode(), after.decode()]).catch(() => {});
  await applyBackground();
  const [width, height] = ["X-Width", "X-Height"].map((name) => request.getResponseHeader(name));
  const charged = request.getResponseHeader("X-Credits-Charged") === "1";
  resultBox.hidden = false;
  setState("done", `Done: ${width} × ${height} pixels, ${charged ? "1 credit used" : "free"}.`);
  if (account.signed_in) {
    const credits = (await session(true)).account?.credits ?? 0;
    note.textContent = `Credits left: ${credits}.`;
  } else {
    note.replaceChildren(
      "This is a free preview. ",
      Object.assign(document.createElement("a"), { href: "/signup/", textContent: "Sign up" }),
      " to download it at full size.",
    );
  }
  download.focus();
}

function chosenColour() {
  const choice = root.querySelector("[name$='-bg']:checked").value;
  return choice === "custom" ? part("color").value : choice;
}

// Transparent: the server's PNG as it is. A colour: the same pixels painted over it, as a new PNG.
// Until that PNG is ready the link is off, so a quick click never downloads the previous choice.
let painting = 0;
function offerDownload(url) {
  download.href = url;
  download.removeAttribute("aria-disabled");
}

async function applyBackground() {
  if (!result) return;
  const colour = chosenColour();
  const turn = ++painting;
  layer.classList.toggle("checker", !colour);
  layer.style.backgroundColor = colour;
  download.download = result.name;
  if (result.flatUrl) URL.revokeObjectURL(result.flatUrl);
  result.flatUrl = null;
  if (!colour) {
    offerDownload(result.afterUrl);
    return;
  }
  download.removeAttribute("href");
  download.setAttribute("aria-disabled", "true");
  const canvas = document.createElement("canvas");
  canvas.width = after.naturalWidth;
  canvas.height = after.naturalHeight;
  const paint = canvas.getContext("2d");
  paint.fillStyle = colour;
  paint.fillRect(0, 0, canvas.width, canvas.height);
  paint.drawImage(after, 0, 0);
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
  if (turn !== painting) return; // another choice came since: its painting decides
  result.flatUrl = URL.createObjectURL(blob);
  offerDownload(result.flatUrl);
}

function firstFile(list) {
  return list && list.length ? list[0] : null;
}

fileInput.addEventListener("change", () => {
  const file = firstFile(fileInput.files);
  fileInput.value = "";
  if (file) upload(file);
});

// A photo dropped anywhere on the page is taken, rather than opened by the browser.
document.addEventListener("dragover", (event) => {
  event.preventDefault();
  root.toggleAttribute("data-dragging", true);
});
document.addEventListener("dragleave", (event) => {
  if (!event.relatedTarget) root.removeAttribute("data-dragging");
});
document.addEventListener("drop", (event) => {
  event.preventDefault();
  root.removeAttribute("data-dragging");
  const file = firstFile(event.dataTransfer.files);
  if (file) upload(file);
});
document.addEventListener("paste", (event) => {
  const file = firstFile(event.clipboardData && event.clipboardData.files);
  if (!file) return;
  event.preventDefault();
  upload(file);
});

part("slider").addEventListener("input", (event) => compare.style.setProperty("--split", `${event.target.value}%`));
part("backgrounds").addEventListener("change", applyBackground);
part("color").addEventListener("input", () => {
  root.querySelector("[name$='-bg'][value='custom']").checked = true;
  applyBackground();
});
part("again").addEventListener("click", () => {
  forget();
  resultBox.hidden = true;
  setState("idle");
  fileInput.click();
});

document.addEventListener("cutout:session", (event) => {
  account = event.detail;
  part("sizes").hidden = !account.signed_in;
  part("anonymous-note").hidden = account.signed_in;
  if (account.signed_in && account.account.credits < 1) root.querySelector("[name$='-size'][value='preview']").checked = true;
});
session();
