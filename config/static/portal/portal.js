// The run page: "Toggle output" shows the log inline, and while the run goes on
// the page follows it by short polling of <run>/log/?offset=N (the log from
// byte N and the run's status), without reloading.
"use strict";
(function () {
  const POLL_MS = 1000;
  const RETRY_MS = 3000;

  function setupToggle(box) {
    const button = box.querySelector("[data-toggle-output]");
    const pre = box.querySelector("pre");
    button.addEventListener("click", function () {
      pre.hidden = !pre.hidden;
      button.setAttribute("aria-expanded", String(!pre.hidden));
      if (!pre.hidden) {
        pre.scrollTop = pre.scrollHeight;
      }
    });
  }

  function setLive(name, text) {
    document.querySelectorAll('[data-live="' + name + '"]').forEach(function (el) {
      el.textContent = text;
    });
  }

  function setStatus(status) {
    document.querySelectorAll('[data-live="status"] .status-pill').forEach(function (pill) {
      pill.className = "status-pill status-" + status.toLowerCase();
      pill.dataset.status = status;
      pill.textContent = status;
    });
  }

  function follow(box) {
    const pre = box.querySelector("pre");
    let offset = Number(box.dataset.offset || 0);

    function poll() {
      fetch(box.dataset.logUrl + "?offset=" + offset, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) {
          if (response.status === 403 || response.status === 404) {
            return null; // logged out or the run was deleted: stop following
          }
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          if (data === null) {
            return;
          }
          const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          if (data.text) {
            pre.appendChild(document.createTextNode(data.text));
            if (atBottom) {
              pre.scrollTop = pre.scrollHeight;
            }
          }
          offset = data.offset;
          box.dataset.offset = String(offset);
          setStatus(data.status);
          setLive("ended", data.ended);
          setLive("duration", data.duration);
          setLive("exit_code", data.exit_code);
          if (data.active) {
            window.setTimeout(poll, POLL_MS);
          } else {
            box.dataset.active = "0";
            const following = box.querySelector('[data-live="following"]');
            if (following) {
              following.remove();
            }
          }
        })
        .catch(function () {
          window.setTimeout(poll, RETRY_MS);
        });
    }
    window.setTimeout(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".portal-output").forEach(function (box) {
      setupToggle(box);
      if (box.dataset.active === "1") {
        follow(box);
      }
    });
  });
})();
