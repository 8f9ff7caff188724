// The browser bundle's entry: exposes the LeNet-5 steps to the page.
import { lenetSteps } from "./lenet-step.mjs"

globalThis.dagradLenetSteps = lenetSteps
