// Card payment with Stripe's Payment Element (Stripe.js is loaded from js.stripe.com, as Stripe
// requires). The booking is confirmed by the server from Stripe's own account of the payment
// (webhook, or the check on return), never from what this script reports.
(() => {
  const form = document.getElementById("card-form");
  if (!form || typeof window.Stripe !== "function") return;
  const stripe = window.Stripe(form.dataset.publishableKey);
  const elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
  elements.create("payment").mount("#payment-element");
  const button = form.querySelector("button");
  const message = document.getElementById("card-message");
  button.hidden = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    const { error } = await stripe.confirmPayment({
      elements,
      confirmParams: { return_url: form.dataset.returnUrl },
    });
    // Reached only when the payment could not be attempted (Stripe redirects otherwise).
    message.textContent = error.message;
    button.disabled = false;
  });
})();
