import {convergeToJson, renderConvergeText} from '../output/converge-view.js'
import {exitCodeOf, type ConvergeReport} from '../services/converge-report.js'
import {BaseCommand} from './base-command.js'

/** init, add-node and remove-node: one report shape, one way to print it and to derive the exit code. */
export abstract class ConvergeCommand extends BaseCommand {
  protected printReport(report: ConvergeReport): void {
    if (this.jsonEnabled()) this.printJson(convergeToJson(report))
    else process.stdout.write(renderConvergeText(report))
    process.exitCode = exitCodeOf(report)
  }
}
