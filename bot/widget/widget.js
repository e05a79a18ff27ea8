/*
 * 科技部政务服务平台 账号助手 — embeddable web chat widget.
 *
 * Plain JavaScript, no build step. Embed with:
 *
 *   <script src="https://HOST/webhooks/widget/widget.js"
 *           data-title="科技部政务服务平台 账号助手"
 *           data-identity-token="(optional, signed token of the logged-in user)"
 *           data-server="(optional, default: the origin of this script)" defer></script>
 *
 * The page may call window.__mostAssistantWidget.open(), .close() and
 * .logout() (when its user logs out: ends the session on the server, forgets
 * the session id and the identity token, clears the widget's localStorage
 * and sessionStorage; returns a Promise).
 *
 * The widget lives in a Shadow DOM (styles from widget.css, linked inside the
 * shadow root), talks to the assistant over socket.io (the client library is
 * loaded from the same server) and uploads document photos over HTTP.
 *
 * The widget's own texts (TEXTS) are in Chinese or English: the conversation's
 * language as the server tells it (`language` of session_history and of bot
 * messages, the tracker's language slot), else the browser's (navigator.language),
 * else Chinese. data-title names the assistant in Chinese, data-title-en in English.
 * Message content is only ever inserted as text (textContent / text nodes),
 * never as HTML.
 */
(function () {
  "use strict";

  var SCRIPT = document.currentScript || findOwnScript();
  if (!SCRIPT || window.__mostAssistantWidget) {
    return; // no script tag to read the settings from, or embedded twice
  }

  var STORAGE_KEY = "most-assistant:session";
  var OPEN_KEY = "most-assistant:open";
  // The widget's own texts in each language (the assistant's answers come from the server).
  var TEXTS = {
    zh: {
      title: "科技部政务服务平台 账号助手",
      open: "打开{title}",
      openUnread: "打开{title}（有新消息）",
      collapse: "收起{title}",
      launcher: "在线咨询",
      newTitle: "结束当前对话，开始新的对话",
      newText: "新对话",
      humanTitle: "请人工客服来处理",
      humanText: "转人工",
      humanDisplay: "转人工客服",
      closeLabel: "关闭对话窗口",
      closeTitle: "关闭（Esc）",
      log: "对话记录",
      typing: "助手正在输入…",
      upload: "上传照片",
      uploadTitle: "上传照片（JPG/PNG，不超过 {size} MB）",
      inputLabel: "输入您的问题",
      placeholder: "请输入您的问题，Enter 发送",
      hint: "按 Enter 发送，Shift+Enter 换行",
      send: "发送",
      composer: "发送消息",
      bot: "助手：",
      me: "我：",
      quickReplies: "可选回复",
      welcome: "您好！我是账号助手。请直接描述您遇到的问题，例如“忘记密码”“实名认证失败”“没有权限”。",
      photo: "[照片] {name}",
      preview: "照片预览：{name}",
      progress: "上传进度",
      uploading: "正在上传…",
      uploaded: "已上传",
      uploadFailed: "上传失败",
      retry: "重试",
      uploadRefused: "照片上传失败（服务器返回 {status}），请稍后重新选择照片上传。",
      retryOffline: "连接还没有恢复，请稍后再点“重试”。",
      uploadNetwork: "网络异常，照片没有上传成功。请检查网络后点“重试”，或重新选择照片。",
      somethingWrong: "出了点问题，请稍后再试。",
      connecting: "正在连接…",
      reconnecting: "连接已断开，正在重新连接…",
      loadFailed: "无法加载聊天组件，请刷新页面后重试。",
      unreachable: "无法连接到助手服务，请检查网络后刷新页面。",
    },
    en: {
      title: "MOST Government Services · Account Assistant",
      open: "Open {title}",
      openUnread: "Open {title} (new messages)",
      collapse: "Collapse {title}",
      launcher: "Chat with us",
      newTitle: "End this conversation and start a new one",
      newText: "New chat",
      humanTitle: "Ask a support agent to help",
      humanText: "Agent",
      humanDisplay: "Talk to a support agent",
      closeLabel: "Close the chat window",
      closeTitle: "Close (Esc)",
      log: "Conversation",
      typing: "The assistant is typing…",
      upload: "Upload a photo",
      uploadTitle: "Upload a photo (JPG/PNG, at most {size} MB)",
      inputLabel: "Type your question",
      placeholder: "Type your question, Enter to send",
      hint: "Enter sends, Shift+Enter starts a new line",
      send: "Send",
      composer: "Send a message",
      bot: "Assistant:",
      me: "Me:",
      quickReplies: "Suggested replies",
      welcome: "Hello! I am the account assistant. Just describe your problem, e.g. \u201cforgot my password\u201d, \u201creal-name verification failed\u201d or \u201cno access\u201d.",
      photo: "[Photo] {name}",
      preview: "Photo preview: {name}",
      progress: "Upload progress",
      uploading: "Uploading…",
      uploaded: "Uploaded",
      uploadFailed: "Upload failed",
      retry: "Retry",
      uploadRefused: "The photo could not be uploaded (the server answered {status}). Please choose the photo again a little later.",
      retryOffline: "The connection is not back yet; please tap \u201cRetry\u201d again in a moment.",
      uploadNetwork: "Network problem: the photo was not uploaded. Check your connection and tap \u201cRetry\u201d, or choose the photo again.",
      somethingWrong: "Something went wrong, please try again later.",
      connecting: "Connecting…",
      reconnecting: "Connection lost, reconnecting…",
      loadFailed: "The chat could not be loaded; please reload the page.",
      unreachable: "The assistant cannot be reached; please check your network and reload the page.",
    },
  };
  var TYPING_HIDE_MS = 700;
  var TYPING_TIMEOUT_MS = 20000;
  var MB = 1024 * 1024;
  var LOGOUT_WAIT_MS = 3000;

  var server = trimSlash(SCRIPT.getAttribute("data-server") || new URL(SCRIPT.src, location.href).origin);
  var pageTitles = { zh: SCRIPT.getAttribute("data-title"), en: SCRIPT.getAttribute("data-title-en") };
  var identityToken = SCRIPT.getAttribute("data-identity-token") || "";

  var state = {
    // The conversation's language once the server told it; until then the browser's.
    language: languageOf(navigator.language),
    statusKey: "", // the status line's text (TEXTS key), shown again in a new language
    socket: null,
    connected: false,
    sessionId: readStorage(localStorage, STORAGE_KEY),
    ready: false, // connected and the server confirmed a session
    busyUploads: 0,
    maxUploadBytes: MB,
    acceptedTypes: ["image/jpeg", "image/png"],
    // The server's refusals (session_history's upload_refusals), so that a file
    // refused here reads as the server would refuse it; the 📎 button waits for them.
    uploadRefusals: {},
    typingHideTimer: null,
    typingTimeoutTimer: null,
    objectUrls: [],
    loggedOut: false, // logout() ran: the next open starts a new session
  };

  function findOwnScript() {
    var scripts = document.getElementsByTagName("script");
    for (var i = scripts.length - 1; i >= 0; i--) {
      if (/\/webhooks\/widget\/widget\.js(\?|#|$)/.test(scripts[i].src || "")) {
        return scripts[i];
      }
    }
    return null;
  }

  // "en", "en-GB" → "en"; anything else (zh-CN, fr, none) → "zh", the platform's language.
  function languageOf(tag) {
    return /^en(\b|[-_])/i.test(String(tag || "")) ? "en" : "zh";
  }

  // The widget's text `key` in the current language, {name} fields filled from `values`.
  function t(key, values) {
    var text = TEXTS[state.language][key];
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  function title() {
    return pageTitles[state.language] || TEXTS[state.language].title;
  }

  function trimSlash(url) {
    return String(url).replace(/\/+$/, "");
  }

  function readStorage(storage, key) {
    try {
      return storage.getItem(key);
    } catch (e) {
      return null; // storage disabled (privacy settings): the session lasts as long as the page
    }
  }

  function writeStorage(storage, key, value) {
    try {
      if (value === null || value === undefined) {
        storage.removeItem(key);
      } else {
        storage.setItem(key, value);
      }
    } catch (e) {
      /* storage disabled */
    }
  }

  /* ------------------------------------------------------------------ DOM */

  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === false || value === null || value === undefined) {
        return;
      }
      if (name === "text") {
        node.textContent = value;
      } else if (name === "class") {
        node.className = value;
      } else {
        node.setAttribute(name, value === true ? "" : value);
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  var host = document.createElement("most-assistant-widget");
  host.setAttribute("data-testid", "widget-host");
  var shadow = host.attachShadow({ mode: "open" });

  var root = el("div", { class: "root" });
  root.style.visibility = "hidden"; // until widget.css has loaded: no flash of unstyled controls
  var stylesheet = el("link", { rel: "stylesheet", href: server + "/webhooks/widget/widget.css" });
  stylesheet.addEventListener("load", showRoot);
  stylesheet.addEventListener("error", showRoot);

  function showRoot() {
    root.style.visibility = "";
  }

  var launcher = el("button", {
    type: "button",
    class: "launcher",
    "data-testid": "widget-launcher",
    "aria-expanded": "false",
    "aria-controls": "mw-panel",
  }, [
    el("span", { class: "launcher-icon", "aria-hidden": "true", text: "💬" }),
    el("span", { class: "launcher-text" }),
  ]);

  var heading = el("h2", { id: "mw-title", class: "title" });
  var newButton = el("button", {
    type: "button",
    class: "header-button",
    "data-testid": "widget-new-conversation",
  });
  var humanButton = el("button", {
    type: "button",
    class: "header-button",
    "data-testid": "widget-human",
  });
  var closeButton = el("button", {
    type: "button",
    class: "header-button close",
    "data-testid": "widget-close",
  }, [el("span", { "aria-hidden": "true", text: "✕" })]);

  var status = el("div", { class: "status", role: "status", "data-testid": "widget-status" });
  var log = el("div", {
    class: "log",
    role: "log",
    "aria-live": "polite",
    "data-testid": "widget-log",
    tabindex: "0",
  });
  var typing = el("div", {
    class: "typing",
    "aria-live": "polite",
    "data-testid": "widget-typing",
    hidden: true,
  }, [
    el("span", { class: "dots", "aria-hidden": "true" }, [el("i"), el("i"), el("i")]),
    el("span", { class: "typing-text" }),
  ]);
  var errorLine = el("div", { class: "error", role: "alert", "data-testid": "widget-error" });

  var fileInput = el("input", {
    type: "file",
    class: "file-input",
    accept: "image/jpeg,image/png",
    tabindex: "-1",
    "aria-hidden": "true",
    "data-testid": "widget-upload-input",
  });
  var uploadButton = el("button", {
    type: "button",
    class: "icon-button",
    "data-testid": "widget-upload",
  }, [el("span", { "aria-hidden": "true", text: "📎" })]);
  var inputLabel = el("label", { for: "mw-input", class: "visually-hidden" });
  var input = el("textarea", {
    id: "mw-input",
    class: "input",
    rows: "1",
    "aria-describedby": "mw-hint",
    "data-testid": "widget-input",
  });
  var hint = el("span", { id: "mw-hint", class: "visually-hidden" });
  var sendButton = el("button", { type: "submit", class: "send", "data-testid": "widget-send" });
  var composer = el("form", { class: "composer" },
    [fileInput, uploadButton, inputLabel, input, hint, sendButton]);

  var panel = el("section", {
    id: "mw-panel",
    class: "panel",
    role: "dialog",
    "aria-labelledby": "mw-title",
    "data-testid": "widget-panel",
    hidden: true,
  }, [
    el("header", { class: "header" }, [heading, humanButton, newButton, closeButton]),
    status,
    log,
    typing,
    errorLine,
    composer,
  ]);

  root.appendChild(launcher);
  root.appendChild(panel);
  applyTexts();

  /* ------------------------------------------------------------ language */

  // Writes the widget's own texts in the current language (at start and when it changes).
  function applyTexts() {
    root.setAttribute("lang", state.language === "en" ? "en" : "zh-CN");
    root.setAttribute("data-language", state.language);
    host.setAttribute("data-language", state.language);
    launcher.querySelector(".launcher-text").textContent = t("launcher");
    setLauncherLabel();
    heading.textContent = title();
    newButton.title = t("newTitle");
    newButton.textContent = t("newText");
    humanButton.title = t("humanTitle");
    humanButton.textContent = t("humanText");
    closeButton.setAttribute("aria-label", t("closeLabel"));
    closeButton.title = t("closeTitle");
    log.setAttribute("aria-label", t("log"));
    typing.querySelector(".typing-text").textContent = t("typing");
    uploadButton.setAttribute("aria-label", t("upload"));
    uploadButton.title = uploadTitle();
    inputLabel.textContent = t("inputLabel");
    input.placeholder = t("placeholder");
    hint.textContent = t("hint");
    sendButton.textContent = t("send");
    composer.setAttribute("aria-label", t("composer"));
    var welcome = log.querySelector(".welcome");
    if (welcome) {
      welcome.textContent = t("welcome");
    }
    if (state.statusKey) {
      setStatus(state.statusKey);
    }
  }

  // The conversation's language as the server tells it; nothing to do when it is unknown or the same.
  function setLanguage(language) {
    if ((language !== "zh" && language !== "en") || language === state.language) {
      return;
    }
    state.language = language;
    applyTexts();
  }

  function setLauncherLabel() {
    var unread = launcher.classList.contains("unread");
    var key = isOpen() ? "collapse" : unread ? "openUnread" : "open";
    launcher.setAttribute("aria-label", t(key, { title: title() }));
  }
  shadow.appendChild(stylesheet);
  shadow.appendChild(root);

  /* -------------------------------------------------------- panel control */

  function isOpen() {
    return !panel.hidden;
  }

  function markUnread(unread) {
    launcher.classList.toggle("unread", unread);
    setLauncherLabel();
  }

  function openPanel(focusInput) {
    startAfterLogout();
    panel.hidden = false;
    markUnread(false);
    root.classList.add("open");
    launcher.setAttribute("aria-expanded", "true");
    setLauncherLabel();
    writeStorage(sessionStorage, OPEN_KEY, "1");
    scrollToEnd();
    if (focusInput !== false) {
      input.focus();
    }
  }

  function closePanel() {
    panel.hidden = true;
    root.classList.remove("open");
    launcher.setAttribute("aria-expanded", "false");
    setLauncherLabel();
    writeStorage(sessionStorage, OPEN_KEY, null);
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (isOpen()) {
      closePanel();
    } else {
      openPanel();
    }
  });
  closeButton.addEventListener("click", closePanel);
  root.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && isOpen()) {
      event.preventDefault();
      closePanel();
    }
  });

  /* ------------------------------------------------------------- messages */

  // http(s) links inside message text; trailing punctuation is not part of the link
  var URL_PATTERN = /https?:\/\/[^\s<>"'“”‘’，。；：！？、（）《》【】]+/g;
  var TRAILING = /[.,;:!?)\]}'"]+$/;

  function appendLinkedText(parent, text) {
    var last = 0;
    String(text).replace(URL_PATTERN, function (match, offset) {
      var url = match.replace(TRAILING, "");
      if (!isWebUrl(url)) {
        return match;
      }
      if (offset > last) {
        parent.appendChild(document.createTextNode(text.slice(last, offset)));
      }
      var link = el("a", { href: url, target: "_blank", rel: "noopener noreferrer" });
      link.textContent = url;
      parent.appendChild(link);
      last = offset + url.length;
      return match;
    });
    if (last < text.length) {
      parent.appendChild(document.createTextNode(text.slice(last)));
    }
  }

  function isWebUrl(url) {
    try {
      var parsed = new URL(url);
      return parsed.protocol === "http:" || parsed.protocol === "https:";
    } catch (e) {
      return false;
    }
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function removeWelcome() {
    var welcome = log.querySelector(".welcome");
    if (welcome) {
      welcome.remove();
    }
  }

  function addMessage(sender, text) {
    removeWelcome();
    var row = el("div", { class: "row " + sender });
    var bubble = el("div", {
      class: "bubble",
      "data-testid": "widget-message",
      "data-sender": sender,
    });
    var label = el("span", { class: "visually-hidden", text: sender === "bot" ? t("bot") : t("me") });
    bubble.appendChild(label);
    var body = el("span", { class: "text" });
    if (sender === "bot") {
      appendLinkedText(body, text || "");
    } else {
      body.textContent = text || "";
    }
    bubble.appendChild(body);
    row.appendChild(bubble);
    log.appendChild(row);
    scrollToEnd();
    return row;
  }

  function disableQuickReplies() {
    var groups = log.querySelectorAll(".quick-replies");
    for (var i = 0; i < groups.length; i++) {
      groups[i].classList.add("spent");
      var buttons = groups[i].querySelectorAll("button");
      for (var j = 0; j < buttons.length; j++) {
        buttons[j].disabled = true;
      }
    }
  }

  function addQuickReplies(row, replies, active) {
    var usable = (replies || []).filter(function (reply) {
      return reply && (reply.payload || reply.title);
    });
    if (!usable.length) {
      return;
    }
    var group = el("div", { class: "quick-replies", role: "group", "aria-label": t("quickReplies") });
    usable.forEach(function (reply) {
      var label = String(reply.title || reply.payload);
      var button = el("button", { type: "button", class: "quick-reply", "data-testid": "widget-quick-reply" });
      button.textContent = label;
      button.disabled = !active || !state.ready;
      button.addEventListener("click", function () {
        if (button.disabled) {
          return;
        }
        sendText(String(reply.payload || label), label);
      });
      group.appendChild(button);
    });
    if (!active) {
      group.classList.add("spent");
    }
    row.appendChild(group);
    scrollToEnd();
  }

  function addBotMessage(message) {
    var replies = quickRepliesOf(message);
    if (replies.length) {
      disableQuickReplies(); // only the latest buttons are live
    }
    var text = message.text || "";
    if (!text && message.attachment && message.attachment.payload && message.attachment.payload.src) {
      text = message.attachment.payload.src;
    } else if (!text && typeof message.image === "string") {
      text = message.image;
    }
    var row = addMessage("bot", text);
    addQuickReplies(row, replies, true);
  }

  function quickRepliesOf(message) {
    return (message && (message.quick_replies || message.buttons)) || [];
  }

  function showWelcome() {
    if (log.querySelector(".message, .row, .welcome")) {
      return;
    }
    log.appendChild(el("p", {
      class: "welcome",
      "data-testid": "widget-welcome",
      text: t("welcome"),
    }));
  }

  function clearLog() {
    while (log.firstChild) {
      log.removeChild(log.firstChild);
    }
    state.objectUrls.forEach(function (url) {
      URL.revokeObjectURL(url);
    });
    state.objectUrls = [];
  }

  function replaceHistory(messages) {
    clearLog();
    hideTyping();
    var lastButtons = -1;
    messages.forEach(function (message, index) {
      if (message.sender === "bot" && quickRepliesOf(message).length) {
        lastButtons = index;
      } else if (message.sender !== "bot") {
        lastButtons = -1; // the user answered: earlier buttons are spent
      }
    });
    messages.forEach(function (message, index) {
      var sender = message.sender === "user" ? "user" : "bot";
      var row = addMessage(sender, message.text || "");
      if (sender === "bot") {
        addQuickReplies(row, quickRepliesOf(message), index === lastButtons);
      }
    });
    if (!messages.length) {
      showWelcome();
    }
    scrollToEnd();
  }

  /* --------------------------------------------------- errors and status */

  function showError(text) {
    errorLine.textContent = text || "";
    errorLine.classList.toggle("visible", Boolean(text));
  }

  // The status line: a TEXTS key ("" hides it), kept so a change of language rewrites it.
  function setStatus(key) {
    state.statusKey = key || "";
    var text = key ? t(key) : "";
    status.textContent = text;
    status.classList.toggle("visible", Boolean(text));
  }

  function refreshControls() {
    var enabled = state.ready;
    sendButton.disabled = !enabled;
    // Uploads wait for the server's refusals too (session_history, just after the confirmation).
    uploadButton.disabled = !enabled || !state.uploadRefusals.too_large;
    var groups = log.querySelectorAll(".quick-replies:not(.spent) button");
    for (var i = 0; i < groups.length; i++) {
      groups[i].disabled = !enabled;
    }
    root.classList.toggle("offline", !enabled);
  }

  /* --------------------------------------------------------------- typing */

  function showTyping() {
    typing.hidden = false;
    clearTimeout(state.typingHideTimer);
    clearTimeout(state.typingTimeoutTimer);
    state.typingTimeoutTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
    scrollToEnd();
  }

  function hideTypingSoon() {
    clearTimeout(state.typingHideTimer);
    state.typingHideTimer = setTimeout(hideTyping, TYPING_HIDE_MS);
  }

  function hideTyping() {
    clearTimeout(state.typingHideTimer);
    clearTimeout(state.typingTimeoutTimer);
    typing.hidden = true;
  }

  /* -------------------------------------------------------------- sending */

  function metadata(extra) {
    var data = {};
    if (identityToken) {
      data.identity_token = identityToken;
    }
    // The browser's language: the session's language when the user has not
    // chosen one (actions/session.py).
    if (typeof navigator.language === "string" && navigator.language) {
      data.language_hint = navigator.language;
    }
    Object.keys(extra || {}).forEach(function (key) {
      data[key] = extra[key];
    });
    return data;
  }

  function emitMessage(message, extra) {
    state.socket.emit("user_uttered", {
      session_id: state.sessionId,
      message: message,
      metadata: metadata(extra),
    });
    showTyping();
  }

  function sendText(message, displayText) {
    if (!state.ready || !message.trim()) {
      return false;
    }
    showError("");
    disableQuickReplies();
    addMessage("user", displayText || message);
    emitMessage(message, displayText ? { display_text: displayText } : null);
    return true;
  }

  function submitInput() {
    var text = input.value;
    if (!text.trim()) {
      input.value = "";
      resizeInput();
      input.focus();
      return;
    }
    if (sendText(text)) {
      input.value = "";
      resizeInput();
    }
    input.focus();
  }

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    submitInput();
  });

  input.addEventListener("keydown", function (event) {
    // Enter while an IME (pinyin input) is composing picks a candidate: never send then
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      if (!sendButton.disabled) {
        submitInput();
      }
    }
  });

  function resizeInput() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  input.addEventListener("input", resizeInput);

  /* -------------------------------------------------------------- uploads */

  function uploadTitle() {
    return t("uploadTitle", { size: formatMB(state.maxUploadBytes) });
  }

  // Sizes as the server writes them (bot/accounts/uploads.py megabytes): whole MB whole, others one decimal.
  function formatMB(bytes) {
    var value = bytes / MB;
    return value === Math.round(value) ? String(value) : value.toFixed(1);
  }

  function fileType(file) {
    if (file.type) {
      return file.type === "image/jpg" || file.type === "image/pjpeg" ? "image/jpeg" : file.type;
    }
    var name = (file.name || "").toLowerCase();
    if (/\.(jpe?g|jfif)$/.test(name)) {
      return "image/jpeg";
    }
    return /\.png$/.test(name) ? "image/png" : "";
  }

  function checkFile(file) {
    var refusals = state.uploadRefusals;
    if (state.acceptedTypes.indexOf(fileType(file)) < 0 && refusals.not_a_photo) {
      return refusals.not_a_photo;
    }
    if (file.size > state.maxUploadBytes && refusals.too_large) {
      return refusals.too_large.replace("{size}", formatMB(file.size));
    }
    if (!file.size && refusals.empty) {
      return refusals.empty;
    }
    return "";
  }

  uploadButton.addEventListener("click", function () {
    if (!uploadButton.disabled) {
      fileInput.click();
    }
  });

  fileInput.addEventListener("change", function () {
    var file = fileInput.files && fileInput.files[0];
    fileInput.value = ""; // the same file can be chosen again
    if (!file) {
      return;
    }
    var problem = checkFile(file);
    if (problem) {
      showError(problem);
      uploadButton.focus();
      return;
    }
    showError("");
    upload(file, null);
  });

  function uploadBubble(file) {
    removeWelcome();
    var url = URL.createObjectURL(file);
    state.objectUrls.push(url);
    var row = el("div", { class: "row user upload" });
    var bubble = el("div", { class: "bubble", "data-testid": "widget-message", "data-sender": "user" });
    bubble.appendChild(el("span", { class: "visually-hidden", text: t("me") }));
    var image = el("img", { class: "preview", src: url, "data-testid": "widget-upload-preview" });
    image.alt = t("preview", { name: file.name });
    bubble.appendChild(image);
    bubble.appendChild(el("span", { class: "text", text: t("photo", { name: file.name }) }));
    var progress = el("progress", {
      class: "progress",
      max: "100",
      value: "0",
      "aria-label": t("progress"),
      "data-testid": "widget-upload-progress",
    });
    bubble.appendChild(progress);
    var note = el("span", { class: "upload-note", "data-testid": "widget-upload-note", text: t("uploading") });
    bubble.appendChild(note);
    row.appendChild(bubble);
    log.appendChild(row);
    scrollToEnd();
    return { row: row, progress: progress, note: note, bubble: bubble };
  }

  function upload(file, existing) {
    var view = existing || uploadBubble(file);
    view.bubble.classList.remove("failed");
    view.progress.hidden = false;
    view.progress.value = 0;
    view.note.textContent = t("uploading");
    var retry = view.bubble.querySelector(".retry");
    if (retry) {
      retry.remove();
    }

    var form = new FormData();
    form.append("sender", state.sessionId || "");
    form.append("language", state.language);
    form.append("file", file, file.name);
    var request = new XMLHttpRequest();
    request.open("POST", server + "/webhooks/account/upload");
    request.responseType = "text";
    request.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        view.progress.value = Math.round((event.loaded / event.total) * 100);
      }
    });
    request.addEventListener("load", function () {
      var answer = parseJson(request.responseText);
      if (request.status === 200 && answer && answer.upload_id) {
        view.progress.value = 100;
        view.progress.hidden = true;
        view.note.textContent = t("uploaded");
        view.bubble.classList.add("done");
        disableQuickReplies();
        emitMessage("/send_file", { upload_id: answer.upload_id, display_text: t("photo", { name: file.name }) });
      } else {
        view.row.remove();
        showError((answer && answer.error) || t("uploadRefused", { status: request.status }));
      }
    });
    request.addEventListener("error", function () {
      failed(view, file);
    });
    request.addEventListener("timeout", function () {
      failed(view, file);
    });
    request.timeout = 60000;
    request.send(form);
  }

  function failed(view, file) {
    view.progress.hidden = true;
    view.bubble.classList.add("failed");
    view.note.textContent = t("uploadFailed");
    var retry = el("button", { type: "button", class: "retry", "data-testid": "widget-upload-retry", text: t("retry") });
    retry.addEventListener("click", function () {
      if (!state.ready) {
        showError(t("retryOffline"));
        return;
      }
      showError("");
      upload(file, view);
    });
    view.bubble.appendChild(retry);
    showError(t("uploadNetwork"));
  }

  function parseJson(text) {
    try {
      return JSON.parse(text);
    } catch (e) {
      return null;
    }
  }

  /* ------------------------------------------------------- conversation */

  humanButton.addEventListener("click", function () {
    sendText("/request_human", t("humanDisplay"));
  });

  newButton.addEventListener("click", function () {
    writeStorage(localStorage, STORAGE_KEY, null);
    state.sessionId = null;
    state.ready = false;
    clearLog();
    hideTyping();
    showError("");
    refreshControls();
    if (state.socket && state.connected) {
      state.socket.emit("session_request", { session_id: null });
    }
    input.focus();
  });

  /* -------------------------------------------------------------- logout */

  // The platform calls logout() when its user logs out (or on a shared computer's "end
  // session"): the server forgets the socket's session and restarts its conversation
  // (history, answers and verification gone), and the widget forgets the session id, the
  // identity token and everything it kept in localStorage and sessionStorage. The next
  // time the panel is opened a new, anonymous session starts. Returns a Promise that
  // resolves once the server confirmed (or after LOGOUT_WAIT_MS when it did not answer).
  function logout() {
    var socket = state.socket;
    var endedSession = state.sessionId;
    identityToken = "";
    state.sessionId = null;
    state.ready = false;
    state.loggedOut = true;
    host.removeAttribute("data-session-id");
    writeStorage(localStorage, STORAGE_KEY, null);
    writeStorage(sessionStorage, OPEN_KEY, null);
    if (isOpen()) {
      closePanel();
    }
    replaceHistory([]);
    showError("");
    refreshControls();
    return new Promise(function (resolve) {
      if (!socket || !state.connected || !endedSession) {
        resolve(); // nothing the server holds for this page (the id is forgotten all the same)
        return;
      }
      var done = false;
      var finish = function () {
        if (!done) {
          done = true;
          resolve();
        }
      };
      socket.emit("session_end", { session_id: endedSession }, finish);
      setTimeout(finish, LOGOUT_WAIT_MS);
    });
  }

  function startAfterLogout() {
    if (state.loggedOut && state.socket && state.connected) {
      state.loggedOut = false;
      state.socket.emit("session_request", { session_id: null });
    }
  }

  function connect(io) {
    setStatus("connecting");
    refreshControls();
    var socket = io(server, {
      path: "/socket.io",
      transports: ["websocket", "polling"],
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      tryAllTransports: true, // a proxy that blocks WebSocket: fall back to long polling
    });
    state.socket = socket;

    socket.on("connect", function () {
      state.connected = true;
      state.ready = false;
      state.loggedOut = false;
      setStatus("");
      socket.emit("session_request", { session_id: state.sessionId || null });
    });

    socket.on("session_confirm", function (data) {
      var id = typeof data === "string" ? data : data && data.session_id;
      if (!id) {
        return;
      }
      state.sessionId = String(id);
      host.setAttribute("data-session-id", state.sessionId);
      writeStorage(localStorage, STORAGE_KEY, state.sessionId);
      state.ready = state.connected;
      refreshControls();
    });

    socket.on("session_history", function (data) {
      data = data || {};
      if (typeof data.max_upload_bytes === "number" && data.max_upload_bytes > 0) {
        state.maxUploadBytes = data.max_upload_bytes;
      }
      if (Array.isArray(data.accepted_types) && data.accepted_types.length) {
        state.acceptedTypes = data.accepted_types.slice();
      }
      if (data.upload_refusals && typeof data.upload_refusals === "object") {
        state.uploadRefusals = data.upload_refusals;
      }
      uploadButton.title = uploadTitle();
      setLanguage(data.language);
      replaceHistory(Array.isArray(data.messages) ? data.messages : []);
      refreshControls();
    });

    socket.on("bot_uttered", function (message) {
      if (!message) {
        return;
      }
      if (typeof message === "object") {
        setLanguage(message.language);
      }
      addBotMessage(typeof message === "string" ? { text: message } : message);
      if (!isOpen()) {
        markUnread(true); // a reply that came after the user closed the panel
      }
      hideTypingSoon();
      refreshControls();
    });

    socket.on("widget_error", function (data) {
      hideTyping();
      showError((data && data.message) || t("somethingWrong"));
    });

    socket.on("disconnect", function () {
      state.connected = false;
      state.ready = false;
      hideTyping();
      setStatus("reconnecting");
      refreshControls();
    });

    socket.on("connect_error", function () {
      if (!state.connected) {
        setStatus("reconnecting");
      }
    });
  }

  function loadSocketIo(callback) {
    var previous = window.io;
    var tag = document.createElement("script");
    tag.src = server + "/webhooks/widget/socket.io.min.js";
    tag.async = true;
    tag.addEventListener("load", function () {
      var io = window.io;
      if (previous !== undefined) {
        window.io = previous; // leave the host page's own `io` alone
      }
      if (typeof io !== "function") {
        setStatus("loadFailed");
        return;
      }
      callback(io);
    });
    tag.addEventListener("error", function () {
      setStatus("unreachable");
    });
    document.head.appendChild(tag);
  }

  function start() {
    document.body.appendChild(host);
    refreshControls();
    if (readStorage(sessionStorage, OPEN_KEY)) {
      openPanel(false);
    }
    loadSocketIo(connect);
  }

  window.__mostAssistantWidget = {
    open: function () { openPanel(); },
    close: closePanel,
    logout: logout,
  };

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
