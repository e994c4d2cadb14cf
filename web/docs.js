// The API reference at /docs: Redoc (web/vendor/, MIT) renders /openapi.yaml, this origin's copy
// of docs/openapi.yaml. Nothing is loaded from anywhere else.
'use strict';
(function () {
  const element = document.getElementById('reference');
  if (!element || typeof Redoc === 'undefined') return;
  Redoc.init(element.dataset.specUrl, {
    hideDownloadButton: false,
    expandResponses: '200,201',
    jsonSampleExpandLevel: 3,
    disableSearch: false,
  }, element);
})();
