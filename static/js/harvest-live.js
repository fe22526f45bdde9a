// While the event is on, the harvest page follows the live room: newly approved
// contributions, captured phrases and new prompts appear without a reload, and withdrawn
// ones disappear. It joins as a read-only "viewer" (docs/live-protocol.md), which the room
// never counts as a participant. Every text goes into the page as text, never as HTML.
(function () {
  "use strict";

  var article = document.getElementById("harvest");
  if (!article || article.dataset.liveSeq === undefined || typeof window.io !== "function") {
    return;
  }
  var status = document.getElementById("harvest-live-status");
  var announcer = document.getElementById("harvest-live-announcer");
  var prompts = document.getElementById("prompts");
  var lastSeq = parseInt(article.dataset.liveSeq, 10) || 0;
  var haveState = false;
  var held = [];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function showStatus(state, text) {
    status.hidden = false;
    status.className = "live-status live-status-" + state;
    status.textContent = text;
  }

  function announce(text) {
    announcer.textContent = text;
  }

  function plural(count, word) {
    return count + " " + (count === 1 ? word : word + "s");
  }

  function promptKey(id) {
    return id === null || id === undefined ? "" : String(parseInt(id, 10));
  }

  function adjustCount(list, change) {
    var count = list.closest(".prompt-section").querySelector(".count");
    var total = Math.max(0, (parseInt(count.dataset.count, 10) || 0) + change);
    count.dataset.count = String(total);
    count.textContent = plural(total, "contribution");
  }

  function promptSection(key, text) {
    var found = prompts.querySelector('ol.contributions[data-prompt-id="' + key + '"]');
    if (found) {
      return found;
    }
    var id = "prompt-" + (key || "other");
    var section = el("section", "prompt-section");
    section.id = id;
    section.setAttribute("aria-labelledby", id + "-heading");
    var heading = el("h3", "", text || (key ? "A new prompt" : "Other reflections"));
    heading.id = id + "-heading";
    var count = el("p", "count", plural(0, "contribution"));
    count.dataset.count = "0";
    var list = el("ol", "contributions");
    list.dataset.promptId = key;
    section.appendChild(heading);
    section.appendChild(count);
    section.appendChild(list);
    var other = document.getElementById("prompt-other");
    prompts.insertBefore(section, key && other ? other : null);
    var empty = prompts.querySelector(".empty");
    if (empty) {
      empty.remove();
    }
    return list;
  }

  function contributionItem(contribution) {
    var item = el("li", "contribution" + (contribution.featured ? " featured" : ""));
    item.id = "c-" + contribution.id;
    item.dataset.contributionId = String(contribution.id);
    var quote = el("blockquote", "contribution-text");
    quote.appendChild(el("p", "", contribution.text));
    var byline = el("p", "byline");
    byline.appendChild(el("span", "author", contribution.author || "Anonymous"));
    item.appendChild(quote);
    item.appendChild(byline);
    setResonance(item, contribution.resonance_count || 0);
    setFeatured(item, contribution.featured);
    return item;
  }

  function setResonance(item, count) {
    var byline = item.querySelector(".byline");
    var span = byline.querySelector(".resonances");
    if (!count) {
      if (span) {
        span.remove();
      }
      return;
    }
    if (!span) {
      span = el("span", "resonances");
      byline.insertBefore(span, byline.querySelector(".badge"));
    }
    span.textContent = "resonated with " + count + " " + (count === 1 ? "person" : "people");
  }

  function setFeatured(item, featured) {
    var badge = item.querySelector(".byline .badge");
    item.classList.toggle("featured", Boolean(featured));
    if (featured && !badge) {
      item.querySelector(".byline").appendChild(el("span", "badge", "Featured"));
    } else if (!featured && badge) {
      badge.remove();
    }
  }

  function applyContribution(contribution) {
    var items = article.querySelectorAll('[data-contribution-id="' + parseInt(contribution.id, 10) + '"]');
    if (contribution.status !== "approved") {
      Array.prototype.forEach.call(items, function (item) {
        var list = item.parentNode;
        item.remove();
        if (list.matches("ol.contributions[data-prompt-id]")) {
          adjustCount(list, -1);
        }
      });
      return;
    }
    if (items.length) {
      Array.prototype.forEach.call(items, function (item) {
        setResonance(item, contribution.resonance_count || 0);
        setFeatured(item, contribution.featured);
      });
      return;
    }
    var list = promptSection(promptKey(contribution.prompt_id));
    list.appendChild(contributionItem(contribution));
    adjustCount(list, 1);
    announce("New contribution from " + (contribution.author || "Anonymous") + ": " + contribution.text);
  }

  function applyPhrase(phrase) {
    if (document.getElementById("p-" + parseInt(phrase.id, 10))) {
      return;
    }
    var list = document.querySelector("#phrases ol.phrases");
    var item = el("li", "phrase");
    item.id = "p-" + parseInt(phrase.id, 10);
    var quote = el("blockquote", "phrase-text");
    quote.appendChild(el("p", "", phrase.text));
    item.appendChild(quote);
    if (phrase.attribution) {
      var byline = el("p", "byline");
      byline.appendChild(el("span", "author", phrase.attribution));
      item.appendChild(byline);
    }
    list.appendChild(item);
    var empty = document.querySelector("#phrases .empty");
    if (empty) {
      empty.remove();
    }
    announce("New phrase we heard: " + phrase.text);
  }

  function applyResonance(data) {
    var items = article.querySelectorAll('[data-contribution-id="' + parseInt(data.contribution_id, 10) + '"]');
    Array.prototype.forEach.call(items, function (item) { setResonance(item, data.count); });
  }

  function apply(update) {
    if (update.seq <= lastSeq) {
      return;
    }
    lastSeq = update.seq;
    var data = update.data || {};
    if (update.kind === "contribution" && data.contribution) {
      applyContribution(data.contribution);
    } else if (update.kind === "phrase" && data.phrase) {
      applyPhrase(data.phrase);
    } else if (update.kind === "prompt" && data.prompt) {
      promptSection(promptKey(data.prompt.id), data.prompt.text);
    } else if (update.kind === "resonance") {
      applyResonance(data);
    }
  }

  var socket = window.io("/live", {
    // A function, so every reconnect asks only for what came after the last applied update.
    auth: function (send) {
      var auth = { slug: article.dataset.slug, role: "viewer", last_seq: lastSeq };
      if (article.dataset.liveKey) {
        auth.harvest_secret = article.dataset.liveKey;
      }
      send(auth);
    }
  });
  showStatus("connecting", "Live: connecting…");

  socket.on("state", function (state) {
    (state.updates || []).forEach(apply);
    lastSeq = Math.max(lastSeq, state.seq || 0);
    haveState = true;
    held.splice(0).forEach(apply);
    showStatus("connected", "Live: new contributions appear here as the hosts approve them.");
  });
  socket.on("update", function (update) {
    if (haveState) {
      apply(update);
    } else {
      held.push(update);
    }
  });
  // socket.io delivers `state` (sent while connecting) before its own "connect" event, so
  // only a disconnect says the next state is still to come.
  socket.on("disconnect", function () {
    haveState = false;
    showStatus("reconnecting", "Live updates paused: reconnecting…");
  });
  socket.on("connect_error", function (error) {
    if (socket.active) {
      showStatus("reconnecting", "Live updates paused: reconnecting…");
    } else {
      showStatus("offline", "Live updates are not available: " + (error && error.message ? error.message : "the room refused the connection") + ". Reload the page to see what is new.");
    }
  });
}());
