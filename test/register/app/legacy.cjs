// @stepmark
const stepmark = require('stepmark');

function audit(order) {
  stepmark.step('audited', { id: order.id });
  return helper(order.id);
}

const helper = function (id) {
  return `audit:${id}`;
};

module.exports = { audit };
