(function () {
  // Marks the page for automated checks (tests read these attributes with --dump-dom):
  //   data-images="decoded/total", data-videos="playable/total", data-errors = script or resource errors.
  var root = document.documentElement, errors = 0;
  window.addEventListener('error', function () { errors++; root.setAttribute('data-errors', String(errors)); }, true);
  function videos() {
    var vs = document.querySelectorAll('video'), ok = 0, done = 0;
    for (var i = 0; i < vs.length; i++) {
      if (vs[i].readyState >= 1) { ok++; done++; }
      else if (vs[i].error || vs[i].networkState === 3) { done++; }
    }
    root.setAttribute('data-videos', ok + '/' + vs.length);
    return done === vs.length;
  }
  function missing(v) {
    // The mp4 is not next to the page (e.g. the report was moved alone): show the inlined animated preview.
    var fig = v.closest('figure'); if (fig) { fig.classList.add('novideo'); }
    videos();
  }
  document.addEventListener('DOMContentLoaded', function () {
    var vs = document.querySelectorAll('video');
    for (var i = 0; i < vs.length; i++) {
      (function (v) {
        var s = v.querySelector('source');
        (s || v).addEventListener('error', function () { missing(v); });
        v.addEventListener('loadedmetadata', videos);
      })(vs[i]);
    }
    videos();
  });
  window.addEventListener('load', function () {
    var im = document.images, ok = 0;
    for (var i = 0; i < im.length; i++) { if (im[i].complete && im[i].naturalWidth > 0) { ok++; } }
    root.setAttribute('data-images', ok + '/' + im.length);
    root.setAttribute('data-errors', String(errors));
    videos();
  });
})();
