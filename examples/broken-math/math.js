// A small module with bugs for micro-agent to fix: `npm start` copies this folder and runs the loop on it.
exports.add = (a, b) => a - b;

exports.mean = (values) => values.reduce((sum, v) => sum + v, 0) / (values.length - 1);

exports.clamp = (value, min, max) => Math.max(max, Math.min(min, value));
