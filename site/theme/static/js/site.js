// Every page: show who is signed in and their credits, and sign out.
import { call, session } from "./api.js";

const account = document.querySelector("[data-account]");

function show(state) {
  for (const element of account.querySelectorAll(".signed-out")) element.hidden = state.signed_in;
  account.querySelector(".signed-in").hidden = !state.signed_in;
  if (state.signed_in) {
    const credits = state.account.credits;
    account.querySelector("[data-credits-badge]").textContent = `${credits} credit${credits === 1 ? "" : "s"}`;
  }
}

document.addEventListener("cutout:session", (event) => show(event.detail));
session();

account.querySelector("[data-sign-out]").addEventListener("click", async () => {
  await call("POST", "/api/v1/auth/logout");
  window.location.assign("/");
});
