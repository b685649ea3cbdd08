// Interactive API docs: Swagger UI over the server's own OpenAPI document.
window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.url, dom_id: "#swagger-ui" });
});
