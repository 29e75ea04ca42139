// oauth-confirm options: each rule rejects at registration with a message naming the option.
import t from 'tap'
import oauthConfirm from '../../routes/oauth-confirm/plugin.ts'
import { appWith } from '../helpers/dialect-app.ts'


t.test('oauth-confirm: confirmUrl must be a URL with {confirmation}', async (t) => {
  await t.rejects(async () => { await appWith(oauthConfirm, { confirmUrl: 'https://app.test/cb' }).ready() }, { message: /option confirmUrl must be a URL containing \{confirmation\}/ })
  await t.rejects(async () => { await appWith(oauthConfirm, { confirmUrl: 'https://exa mple.test/{confirmation}' }).ready() }, { message: /option confirmUrl is not a valid URL/ })
})

t.test('oauth-confirm: errorUrl must be a URL', async (t) => {
  await t.rejects(async () => { await appWith(oauthConfirm, { confirmUrl: 'https://app.test/{confirmation}', errorUrl: 'https://exa mple.test/' }).ready() }, { message: /option errorUrl is not a valid URL/ })
})

t.test('oauth-confirm: a valid configuration registers', async (t) => {
  const app = appWith(oauthConfirm, { confirmUrl: 'https://app.test/{confirmation}', errorUrl: 'https://app.test/error' })
  await t.resolves(async () => { await app.ready() })
  await app.close()
})
