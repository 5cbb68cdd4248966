module.exports = {
  presets: ['@babel/preset-typescript'],
  plugins: ['stepmark/babel-plugin', '@babel/plugin-transform-modules-commonjs'],
};
