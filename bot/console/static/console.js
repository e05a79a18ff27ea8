/*
 * The agent console's live updates (bot/console/, docs/agent-console.md).
 *
 * Every logged-in page polls GET events?after=<id> (the page carries the id
 * of the last event it was rendered with); when something changed it fetches
 * a snapshot: on the queue page a fresh copy of the page itself, whose three
 * lists replace the shown ones (the rows are drawn by the server only:
 * templates/queue.mako); elsewhere api/queue, for the waiting badge;
 * api/conversations/<id>?after=<message id> for the open conversation.  The
 * database is the only truth: nothing here decides anything, a missed poll
 * is caught up by the next one.
 *
 * Notifications: a new waiting conversation, or one auto-assigned to this
 * agent, raises a desktop notification (the browser's Notification API, once
 * the agent allowed it with the header's button) while the tab is in the
 * background; in front, the sound, the title and the highlight do.  The
 * header's presence buttons post without leaving the page.
 *
 * Data from JSON is written with textContent only (never innerHTML); the
 * queue's rows are the server's escaped HTML, parsed with DOMParser (which
 * runs no script).  The page's Content-Security-Policy allows no inline
 * script or style.
 */
(function () {
  "use strict";

  var body = document.body;
  if (!body || !body.dataset.lastEvent) {
    return; // the login page: nothing live
  }
  var BASE = body.dataset.base;
  var PAGE = body.dataset.page;
  var TITLE = body.dataset.title || document.title;
  var ME = Number(body.dataset.agentId);
  var POLL_MS = 1500;
  var RETRY_MS = 4000;
  var NEW_HIGHLIGHT_MS = 15000;
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var CSRF = csrfMeta ? csrfMeta.getAttribute("content") : "";
  var lastEvent = Number(body.dataset.lastEvent) || 0;
  var renderedAt = Date.now();
  var newSince = {}; // handoff id -> when its "created" event arrived
  var conversation = document.getElementById("conversation");
  var handoffId = conversation ? Number(conversation.dataset.handoffId) : null;

  // -- small helpers -------------------------------------------------------------

  function el(tag, attributes, text) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      node.setAttribute(name, attributes[name]);
    });
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  // The words of views.duration_zh (a test holds the two equal; halves round up
  // here, to even there): the server writes every duration, this only advances
  // the ticking ones each second.
  function durationZh(seconds) {
    var whole = Math.max(0, Math.round(seconds));
    if (whole < 60) {
      return whole + " 秒";
    }
    if (whole < 3600) {
      return Math.floor(whole / 60) + " 分 " + String(whole % 60).padStart(2, "0") + " 秒";
    }
    return Math.floor(whole / 3600) + " 小时 " + String(Math.floor((whole % 3600) / 60)).padStart(2, "0") + " 分";
  }

  function get(path, accept) {
    return fetch(BASE + path, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: accept }
    }).then(function (response) {
      // The session ended: JSON answers 401, pages redirect to the login page.
      if (response.status === 401 || response.redirected) {
        window.location.assign(BASE + "login");
        throw new Error("logged out");
      }
      if (!response.ok) {
        throw new Error("HTTP " + response.status);
      }
      return response;
    });
  }

  function getJson(path) {
    return get(path, "application/json").then(function (response) {
      return response.json();
    });
  }

  function getPage(path) {
    return get(path, "text/html").then(function (response) {
      return response.text();
    }).then(function (html) {
      return new DOMParser().parseFromString(html, "text/html");
    });
  }

  // -- connection state, announcements --------------------------------------------

  var connection = document.getElementById("connection");
  function setOnline(online) {
    if (connection) {
      connection.textContent = online ? "" : "连接中断，正在重试…";
      connection.classList.toggle("offline", !online);
    }
  }

  var announcer = el("div", { "class": "visually-hidden", "aria-live": "assertive", id: "announcer" });
  body.appendChild(announcer);
  function announce(text) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = text; }, 50);
  }

  // -- the waiting badge in the header and the title ---------------------------

  function setWaiting(count) {
    var badge = document.getElementById("waiting-badge");
    if (badge) {
      badge.textContent = String(count);
      badge.hidden = count === 0;
    }
    document.title = (count ? "(" + count + ") " : "") + TITLE;
  }

  // -- sound: a short two-tone beep made with WebAudio (no audio file) ------------

  var SOUND_KEY = "most-console:sound";
  var soundToggle = document.getElementById("sound-toggle");
  var audio = null;

  function soundOn() {
    return !soundToggle || soundToggle.checked;
  }

  function unlockAudio() {
    // Browsers start audio only after a user gesture: the first click or key press does it.
    try {
      if (!audio) {
        var Context = window.AudioContext || window.webkitAudioContext;
        if (!Context) {
          return;
        }
        audio = new Context();
      }
      if (audio.state === "suspended") {
        audio.resume();
      }
    } catch (error) {
      audio = null;
    }
  }

  function beep() {
    if (!soundOn()) {
      return;
    }
    unlockAudio();
    if (!audio) {
      return;
    }
    try {
      var start = audio.currentTime + 0.01;
      [880, 1320].forEach(function (frequency, index) {
        var oscillator = audio.createOscillator();
        var gain = audio.createGain();
        var at = start + index * 0.16;
        oscillator.type = "sine";
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.0001, at);
        gain.gain.exponentialRampToValueAtTime(0.25, at + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.14);
        oscillator.connect(gain);
        gain.connect(audio.destination);
        oscillator.start(at);
        oscillator.stop(at + 0.15);
      });
    } catch (error) {
      // no sound is no reason to stop the console
    }
  }

  if (soundToggle) {
    try {
      soundToggle.checked = window.localStorage.getItem(SOUND_KEY) !== "off";
    } catch (error) { /* storage blocked: keep the default */ }
    soundToggle.addEventListener("change", function () {
      try {
        window.localStorage.setItem(SOUND_KEY, soundToggle.checked ? "on" : "off");
      } catch (error) { /* ignore */ }
      if (soundToggle.checked) {
        unlockAudio();
      }
    });
  }
  document.addEventListener("pointerdown", unlockAudio);
  document.addEventListener("keydown", unlockAudio);

  // -- desktop notifications (while the tab is in the background) ------------------

  var notifyToggle = document.getElementById("notify-toggle");
  var canNotify = typeof window.Notification === "function";

  function showNotifyToggle() {
    if (!notifyToggle || !canNotify) {
      return;
    }
    var permission = window.Notification.permission;
    notifyToggle.hidden = permission === "denied";
    notifyToggle.disabled = permission === "granted";
    notifyToggle.textContent = permission === "granted" ? "桌面通知已开启" : "开启桌面通知";
  }

  if (notifyToggle && canNotify) {
    notifyToggle.addEventListener("click", function () {
      var asked = window.Notification.requestPermission(showNotifyToggle);
      if (asked && asked.then) {
        asked.then(showNotifyToggle);
      }
    });
    showNotifyToggle();
  }

  function notify(title, text, id) {
    if (!canNotify || window.Notification.permission !== "granted" || document.visibilityState === "visible") {
      return;
    }
    try {
      var shown = new window.Notification(title, { body: text, tag: "handoff-" + id, lang: "zh-CN" });
      shown.onclick = function () {
        window.focus();
        window.location.assign(BASE + "conversations/" + id);
        shown.close();
      };
      body.dataset.notified = String(Number(body.dataset.notified || 0) + 1);
    } catch (error) {
      // e.g. browsers that allow notifications from service workers only: the sound and the title still tell
    }
  }

  // -- presence buttons without leaving the page -------------------------

  var presenceForm = document.querySelector("form.presence");
  if (presenceForm) {
    presenceForm.addEventListener("submit", function (event) {
      var chosen = event.submitter;
      if (!chosen || !chosen.value) {
        return; // an old browser: the form posts and the server redirects back
      }
      event.preventDefault();
      var data = new FormData(presenceForm);
      data.set("presence", chosen.value);
      fetch(presenceForm.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRF-Token": CSRF },
        body: data
      }).then(function (response) {
        if (response.status === 401) {
          window.location.assign(BASE + "login");
          return;
        }
        if (response.ok) {
          presenceForm.querySelectorAll("button[name=presence]").forEach(function (button) {
            button.setAttribute("aria-pressed", button === chosen ? "true" : "false");
          });
          announce("状态已设为" + chosen.textContent);
        }
      }).catch(function () {
        setOnline(false);
      });
    });
  }

  // -- ticking times -------------------------------------------------------------

  function tick() {
    var now = Date.now();
    document.querySelectorAll(".js-ticking").forEach(function (cell) {
      var since = Number(cell.dataset.since || renderedAt);
      cell.textContent = durationZh(Number(cell.dataset.seconds) + (now - since) / 1000);
    });
    document.querySelectorAll("tr.is-new").forEach(function (row) {
      var arrived = newSince[row.dataset.handoffId];
      if (!arrived || now - arrived > NEW_HIGHLIGHT_MS) {
        row.classList.remove("is-new");
      }
    });
  }
  window.setInterval(tick, 1000);

  // -- the queue page ------------------------------------------------------------

  function replaceList(kind, fresh) {
    var tbody = document.getElementById(kind + "-rows");
    var rows = fresh.getElementById(kind + "-rows");
    if (!tbody || !rows) {
      return;
    }
    // Keep the keyboard focus on the same row's same control across the redraw.
    var active = document.activeElement;
    var focusedRow = active && tbody.contains(active) ? active.closest("tr") : null;
    var focusedId = focusedRow ? focusedRow.dataset.handoffId : null;
    var focusedTag = active ? active.tagName : null;
    var since = Date.now();
    var arrived = Array.prototype.slice.call(rows.children);
    arrived.forEach(function (row) {
      row.querySelectorAll(".js-ticking").forEach(function (cell) {
        cell.dataset.since = String(since);
      });
      var id = row.dataset.handoffId;
      if (newSince[id] && since - newSince[id] < NEW_HIGHLIGHT_MS) {
        row.classList.add("is-new");
      }
    });
    tbody.replaceChildren.apply(tbody, arrived);
    document.getElementById(kind + "-count").textContent = fresh.getElementById(kind + "-count").textContent;
    document.getElementById(kind + "-empty").hidden = fresh.getElementById(kind + "-empty").hidden;
    if (focusedId) {
      var again = tbody.querySelector('tr[data-handoff-id="' + focusedId + '"] ' + focusedTag.toLowerCase());
      if (again) {
        again.focus();
      }
    }
  }

  // -- the conversation page -----------------------------------------------------

  var transcript = document.getElementById("transcript");
  var statusLine = document.getElementById("status");
  var actionError = document.getElementById("action-error");

  function showError(text) {
    if (!actionError) {
      return;
    }
    actionError.replaceChildren();
    if (text) {
      actionError.appendChild(el("p", { "class": "error", role: "alert", "data-testid": "error" }, text));
    }
  }

  function nearBottom() {
    return transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 80;
  }

  function appendMessages(messages) {
    if (!messages.length) {
      return;
    }
    var follow = nearBottom();
    messages.forEach(function (message) {
      if (transcript.querySelector('[data-message-id="' + message.id + '"]')) {
        return; // two refreshes crossed
      }
      var item = el("li", { "class": "msg msg-" + message.kind, "data-message-id": String(message.id),
                            "data-testid": "message" });
      var meta = el("div", { "class": "meta" });
      meta.appendChild(el("span", { "class": "who" }, message.label));
      meta.appendChild(document.createTextNode(" "));
      meta.appendChild(el("time", {}, message.at));
      item.appendChild(meta);
      item.appendChild(el("div", { "class": "text" }, message.text));
      transcript.appendChild(item);
      conversation.dataset.lastMessage = String(Math.max(Number(conversation.dataset.lastMessage), message.id));
    });
    if (follow) {
      transcript.scrollTop = transcript.scrollHeight;
    }
  }

  function applyHandoff(handoff) {
    statusLine.textContent = handoff.status;
    statusLine.dataset.state = handoff.state;
    document.querySelectorAll("[data-needs]").forEach(function (section) {
      section.hidden = !handoff.can[section.dataset.needs];
    });
    var select = document.getElementById("transfer-to");
    if (select) {
      Array.prototype.forEach.call(select.options, function (option) {
        option.disabled = option.value !== "" && Number(option.value) === handoff.agent_id;
      });
    }
  }

  var refreshingConversation = null;
  function refreshConversation() {
    if (!conversation) {
      return Promise.resolve();
    }
    if (refreshingConversation) {
      return refreshingConversation;
    }
    refreshingConversation = getJson("api/conversations/" + handoffId + "?after=" + conversation.dataset.lastMessage)
      .then(function (data) {
        appendMessages(data.messages);
        applyHandoff(data.handoff);
      })
      .finally(function () { refreshingConversation = null; });
    return refreshingConversation;
  }

  function submitAsync(form) {
    var button = form.querySelector('button[type="submit"]');
    var box = form.querySelector("textarea");
    if (button) {
      button.disabled = true;
    }
    return fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": CSRF },
      body: new FormData(form)
    }).then(function (response) {
      if (response.status === 401) {
        window.location.assign(BASE + "login");
        return null;
      }
      return response.json().then(function (data) {
        if (!response.ok) {
          showError(data.error || "操作没有成功，请重试。");
          return;
        }
        showError(data.warning || "");
        if (box) {
          box.value = "";
          box.focus();
        }
        return refreshConversation();
      });
    }).catch(function () {
      showError("网络连接中断，操作可能没有完成，请稍后重试。");
    }).finally(function () {
      if (button) {
        button.disabled = false;
      }
    });
  }

  function setUpConversation() {
    transcript.scrollTop = transcript.scrollHeight;
    document.querySelectorAll("form.js-async").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        submitAsync(form);
      });
    });
    document.querySelectorAll("form textarea").forEach(function (box) {
      box.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
          event.preventDefault();
          box.form.requestSubmit();
        }
      });
    });
    var picker = document.getElementById("canned");
    var insert = document.getElementById("canned-insert");
    var reply = document.getElementById("reply-text");
    if (picker && insert && reply) {
      insert.addEventListener("click", function () {
        var option = picker.options[picker.selectedIndex];
        if (!option || !option.value) {
          picker.focus();
          return;
        }
        var text = option.dataset.text || "";
        reply.value = reply.value.trim() ? reply.value.replace(/\s+$/, "") + "\n\n" + text : text;
        reply.focus();
        reply.setSelectionRange(reply.value.length, reply.value.length);
      });
    }
  }

  // -- polling ---------------------------------------------------------------------

  var refreshingQueue = null;
  function refreshQueue() {
    if (refreshingQueue) {
      return refreshingQueue;
    }
    var refreshed = PAGE === "queue"
      ? getPage("").then(function (fresh) {
        setWaiting(fresh.getElementById("waiting-rows").children.length);
        ["waiting", "mine", "others"].forEach(function (kind) {
          replaceList(kind, fresh);
        });
      })
      : getJson("api/queue").then(function (data) {
        setWaiting(data.waiting.length);
      });
    refreshingQueue = refreshed.finally(function () { refreshingQueue = null; });
    return refreshingQueue;
  }

  var QUEUE_KINDS = {
    created: true, claimed: true, assigned: true, transferred: true, closed: true, message: false, note: false
  };

  function handle(events) {
    var work = [];
    var queueChanged = false;
    var arrived = [];
    var mineChanged = false;
    var assignedToMe = [];
    var taken = {};
    events.forEach(function (event) {
      if (event.kind === "assigned" || event.kind === "claimed") {
        taken[event.handoff_id] = true;
      }
      if (event.kind === "assigned" && event.agent_id === ME) {
        assignedToMe.push(event);
      }
      if (QUEUE_KINDS[event.kind]) {
        queueChanged = true;
      }
      if (event.kind === "created" && !newSince[event.handoff_id]) {
        newSince[event.handoff_id] = Date.now();
        arrived.push(event.handoff_id);
      }
      if (event.kind === "transferred" && event.data && event.data.to_agent_id === ME) {
        mineChanged = true;
      }
    });
    if (queueChanged || mineChanged) {
      work.push(refreshQueue());
    }
    if (conversation && events.some(function (event) { return event.handoff_id === handoffId; })) {
      work.push(refreshConversation());
    }
    if (arrived.length) {
      body.dataset.alerts = String(Number(body.dataset.alerts || 0) + 1); // how many times it alerted
      beep();
      announce("有新的转人工会话（#" + arrived.join("、#") + "）");
    }
    events.forEach(function (event) {
      if (event.kind === "created" && !taken[event.handoff_id]) {
        notify("新的转人工会话 #" + event.handoff_id,
               ((event.data && event.data.team) || "未分组") + "：用户在排队等待客服。", event.handoff_id);
      }
    });
    assignedToMe.forEach(function (event) {
      notify("已为您分配会话 #" + event.handoff_id,
             ((event.data && event.data.team) || "未分组") + "：用户在等您回复。", event.handoff_id);
    });
    if (assignedToMe.length) {
      body.dataset.assigned = String(Number(body.dataset.assigned || 0) + assignedToMe.length);
      beep();
      announce("已为您分配会话（#" + assignedToMe.map(function (event) { return event.handoff_id; }).join("、#") + "）");
    }
    return Promise.all(work);
  }

  function poll() {
    getJson("events?after=" + lastEvent).then(function (data) {
      setOnline(true);
      var events = data.events || [];
      return handle(events).then(function () {
        // Only once the page shows them: a failed refresh is retried with the same events.
        lastEvent = Math.max(lastEvent, Number(data.last_id) || 0);
        window.setTimeout(poll, data.more ? 0 : POLL_MS);
      });
    }).catch(function () {
      setOnline(false);
      window.setTimeout(poll, RETRY_MS);
    });
  }

  if (conversation && transcript) {
    setUpConversation();
  }
  window.setTimeout(poll, POLL_MS);
})();
