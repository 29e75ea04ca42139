// syncano options: each rule rejects at registration with a message naming the option.
import t from 'tap'
import syncano from '../../routes/syncano/index.ts'
import { appWith } from '../helpers/dialect-app.ts'


t.test('syncano: backends must name configured providers', async (t) => {
  await t.rejects(async () => { await appWith(syncano, { backends: ['github', 'myspace'] }).ready() }, { message: /option backends names unconfigured providers: myspace/ })
  const app = appWith(syncano, { backends: ['github'] })
  await t.resolves(async () => { await app.ready() })
  await app.close()
})
