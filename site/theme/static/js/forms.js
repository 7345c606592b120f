// The log-in, sign-up and contact forms: checked in the browser, sent as JSON, errors shown next to their field.
import { call } from "./api.js";

function clearErrors(form) {
  for (const slot of form.querySelectorAll("[data-error-for], [data-form-error]")) {
    slot.textContent = "";
    slot.hidden = true;
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function showError(form, field, message) {
  const slot = (field && form.querySelector(`[data-error-for="${field}"]`)) || form.querySelector("[data-form-error]");
  slot.textContent = message;
  slot.hidden = false;
  const input = field && form.elements[field];
  if (input) input.setAttribute("aria-invalid", "true");
  (input || slot).focus?.();
}

// The browser's own checks (required, type=email, minlength), in the browser's words.
function fieldsAreValid(form) {
  const invalid = [...form.querySelectorAll("input[name], textarea[name]")].filter((input) => !input.checkValidity());
  for (const input of invalid.reverse()) showError(form, input.name, input.validationMessage);
  return invalid.length === 0;
}

function values(form) {
  return Object.fromEntries([...new FormData(form)].map(([name, value]) => [name, String(value)]));
}

async function submit(form, send) {
  clearErrors(form);
  if (!fieldsAreValid(form)) return;
  const button = form.querySelector("button[type=submit]");
  const label = button.textContent;
  button.disabled = true;
  button.textContent = "One moment…";
  try {
    await send();
  } finally {
    button.disabled = false;
    button.textContent = label;
  }
}

// The buttons stay disabled until this script is ready, so a form is never sent the browser's own way.
for (const button of document.querySelectorAll("form button[type=submit]")) button.disabled = false;

const auth = document.querySelector("[data-auth-form]");
auth?.addEventListener("submit", (event) => {
  event.preventDefault();
  submit(auth, async () => {
    const answer = await call("POST", `/api/v1/auth/${auth.dataset.authForm}`, values(auth));
    if (answer.ok) window.location.assign("/removebg/");
    else showError(auth, answer.error.field, answer.error.message);
  });
});

const contact = document.querySelector("[data-contact-form]");
contact?.addEventListener("submit", (event) => {
  event.preventDefault();
  submit(contact, async () => {
    const answer = await call("POST", "/api/v1/contact", values(contact));
    if (!answer.ok) return showError(contact, answer.error.field, answer.error.message);
    contact.hidden = true;
    const sent = document.querySelector("[data-contact-sent]");
    sent.hidden = false;
    sent.focus();
  });
});
