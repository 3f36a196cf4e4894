/**
 * Entry point of the web console bundle (built by `scripts/build-console.mjs` into `dist/console/console.js`).
 *
 * @module
 */
import { render } from 'preact'
import { App } from './app.js'
import './styles/base.css'
import './styles/views.css'
import './styles/phone.css'

render(<App />, document.getElementById('app')!)
